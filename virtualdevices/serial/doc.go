// Package serial provides the byte links every possim device speaks over and
// the STX/ETX frame codec of the command devices (DESIGN §5). A Port is a real
// pty exposed at a stable symlink (wired mode), a real serial port, or a
// buffered in-memory pipe (virtual mode, safe in testing/synctest bubbles).
// FrameLink runs the ACK/NAK/retransmit protocol over any of them, and the
// fault wrappers (OneByteReader, CorruptReader, ...) let tests break a link the
// way testing/iotest breaks readers. The frame protocol is documented for POS
// driver writers in docs/devices.md (part 1).
package serial
