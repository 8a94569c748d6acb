// Package printer is a virtual ESC/POS thermal receipt printer and the
// POS-side driver for it. The device parses the byte stream a POS sends
// (docs/devices.md lists the commands), renders each cut receipt to text and
// HTML, and answers DLE EOT real-time status with the bytes an Epson
// TM-series printer sends, so a terminal can be tested against paper out,
// cover open and a broken printer. The Driver and Builder are what a POS
// (simulators/terminal) uses; they work the same over a real printer's port.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: the virtual printer's, the Driver's and the Builder's Go
// API; use possimtest.Devices from Go.
package printer
