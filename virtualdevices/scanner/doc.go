// Package scanner is a virtual barcode/QR scanner in keyboard-less serial
// mode and the POS-side driver for it. The operator (a test step, the
// dashboard) calls Scan and the device writes the code and a suffix (CR by
// default) to its link; a POS checks the scanner is alive with ENQ, answered
// by ACK. Faults (broken, garbled read) let a terminal's fallback to keyed
// entry be tested. The protocol is in docs/devices.md.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: the virtual scanner's and the Driver's Go API; use
// possimtest.Devices from Go.
package scanner
