// Package serial provides the byte links every possim device speaks over and
// the STX/ETX frame codec of the command devices (docs/devices.md, part 1). A Port is a real
// pty exposed at a stable symlink (wired mode), a real serial port, or a
// buffered in-memory pipe (virtual mode, safe in testing/synctest bubbles).
// FrameLink runs the ACK/NAK/retransmit protocol over any of them, and
// CommandServer and CommandClient run the card reader's and PIN pad's
// command/answer protocol (Message) on top of it; the fault wrappers
// (OneByteReader, CorruptReader, Cable, ...) let tests break a link the way
// testing/iotest breaks readers. Both protocols are documented for POS
// driver writers in docs/devices.md (parts 1 and 2).
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API, the framing helpers and the fault wrappers.
package serial
