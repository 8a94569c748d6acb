// Package pinpad is the virtual PIN pad and the POS-side driver for it.
//
// The pad holds the terminal master key; the terminal loads a session PIN
// key encrypted under it (checked by its KCV), and the pad returns ISO 9564
// format 0 PIN blocks encrypted under that session key, which the acquirer
// host decrypts with package card. The POS protocol is a few line-based
// commands inside virtualdevices/serial frames, described in
// docs/devices.md (part 2). The operator face (Type, Cancel, Break)
// stands in for the cardholder; a clear PIN never leaves the pad.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: the virtual pad's and the Driver's Go API; use
// possimtest.Devices from Go.
package pinpad
