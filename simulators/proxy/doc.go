// Package proxy is a TCP fault proxy for the link between a terminal and a
// host: Toxiproxy itself, embedded, serving its HTTP API (proxies, toxics,
// enable/disable, reset) so Toxiproxy's own clients drive it unchanged,
// plus ISO 8583 toxics that read the stream in the server's wire dialect
// (an iso.Dialect: length header, TPDU, application header, spec;
// possim87 unless told) and act on single messages: drop the n-th answer,
// delay one, change its amount, send it twice, garble a field, hold a
// reversal. Bytes that are not in the dialect pass through untouched. With a
// trace, every message each proxy carries is written in the JSON lines of
// the host's trace, card data masked. It imports nothing of possim but
// simulators/iso and card, so it runs alone between real equipment.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API and the toxics' attributes (docs/proxy.md).
package proxy
