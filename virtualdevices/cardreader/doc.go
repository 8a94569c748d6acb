// Package cardreader is the virtual chip, contactless and magstripe card
// reader, with its virtual cards, and the POS-side driver for it.
//
// The device (Reader) speaks a small line-based command protocol inside the
// frames of virtualdevices/serial, on a pty, a real serial port or an
// in-memory pipe; docs/devices.md (part 2) describes it for POS
// developers. Its operator face (Insert, Tap, Swipe, Remove and the faults)
// is what the harness and scenarios drive. Chip and contactless cards compute
// real EMV cryptograms with package card, so the acquirer host verifies them
// with the issuer master key. The Driver is what a terminal imports; it knows
// nothing of the virtual internals and drives a real reader the same way.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: the virtual reader's and the Driver's Go API; use
// possimtest.Devices from Go.
package cardreader
