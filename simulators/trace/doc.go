// Package trace reads what was on the wire between a terminal and an
// acquirer host, from whatever a field issue comes with, and decodes it:
// pcap and pcapng captures (TCP reassembled), possim's own JSONL traces
// (possim host --trace, the lab timeline, possim run --timeline), hex
// dumps of one message per line, and possim bridge --record device
// recordings.
//
// Read detects the format from the content and returns every message in
// order, decoded in an iso.Dialect (the spec and framing of the wire:
// length header, TPDU, application header; possim87 unless told), card
// data masked. Match pairs requests with their answers
// and Summarize counts what happened. Nothing is dropped: a frame that
// cannot be decoded is kept as malformed, and what cannot be read at all
// is listed in Trace.Problems with the line or packet where it was.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API and the JSON lines of a trace (docs/trace.md).
package trace
