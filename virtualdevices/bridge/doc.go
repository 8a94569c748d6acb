// Package bridge joins a real serial device (or any tty) to a pty or a TCP
// port, so POS software under test talks to real hardware through possim:
// every byte both ways is recorded as JSONL with a timestamp, and faults
// (delay, drop, corrupt a byte, disconnect) can be injected while it runs.
//
// Recordings are raw device bytes and mask nothing: a bridge record of a card
// reader may contain card data (PAN, tracks, EMV data). CreateRecord creates
// the file with mode 0600; treat it like the card data it may hold.
//
// Usage, as the `possim bridge` command wires it:
//
//	dev, err := serial.OpenPort("/dev/ttyUSB0", 9600)
//	rec, err := bridge.CreateRecord("bridge.jsonl")
//	b := bridge.New(bridge.Config{Device: dev, PTYLink: "run/cardreader", Record: rec, Logger: log})
//	if err := b.Start(); err != nil { ... }   // POS software opens b.Path()
//	b.SetFault(bridge.Fault{Dir: bridge.POSToDev, Kind: bridge.Corrupt, Count: 1})
//	defer b.Close()                            // closes dev too; then close rec
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API and its fault kinds.
package bridge
