// Package proxy is a TCP fault proxy for the link between a terminal and a
// host: Toxiproxy itself, embedded, serving its HTTP API (proxies, toxics,
// enable/disable, reset) so Toxiproxy's own clients drive it unchanged,
// plus ISO 8583 toxics that read the possim87 stream (2-byte big-endian
// length, simulators/iso's spec) and act on single messages: drop the n-th
// answer, delay one, change its amount, send it twice, garble a field, hold
// a reversal. Bytes that are not possim87 pass through untouched. With a
// trace, every message each proxy carries is written in the JSON lines of
// the host's trace, card data masked. It imports nothing of possim but
// simulators/iso and card, so it runs alone between real equipment.
package proxy
