// Package iso is possim's ISO 8583 wire: the possim87 spec (ISO 8583:1987,
// ASCII, 8-byte bitmaps sent as hex and expanding through bit 1), the
// 2-byte big-endian length framing, typed structs for each message family,
// the MTI, processing-code and response-code constants, and loading of
// other specs from moov-io's JSON or YAML spec files. A Dialect pairs a
// spec with a framing (length header, TPDU, application header): the
// built-ins possim87, ascii4, nac and cup, or a dialect file
// (docs/dialects.md). Messages, fields and connections come from
// github.com/moov-io/iso8583 and iso8583-connection; this package only
// configures them the way docs/architecture.md draws the wire.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API and the dialect file format (docs/dialects.md).
package iso
