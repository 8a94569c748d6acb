package bridge

import (
	"fmt"
	"time"
)

// Dir is a direction of traffic through the bridge.
type Dir string

const (
	DevToPOS Dir = "dev->pos"
	POSToDev Dir = "pos->dev"
)

// FaultKind is what a Fault does to the traffic.
type FaultKind int

const (
	// Delay holds each affected chunk for Fault.Delay; later chunks queue
	// behind it, so order is kept.
	Delay FaultKind = iota + 1
	// Drop discards each affected chunk.
	Drop
	// Corrupt flips every bit of one byte of each affected chunk (Offset).
	Corrupt
	// Disconnect drops the POS side's connection: a TCP client is closed; a
	// pty is closed (the client reads a hang-up) and a new one is opened at
	// the same link. With Dir set it fires on the next chunk in that
	// direction (which is dropped); with no Dir, at once.
	Disconnect
)

var kindNames = map[FaultKind]string{Delay: "delay", Drop: "drop", Corrupt: "corrupt", Disconnect: "disconnect"}

func (k FaultKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// ParseFaultKind maps "delay", "drop", "corrupt", "disconnect" to a kind,
// for the CLI and control API.
func ParseFaultKind(s string) (FaultKind, error) {
	for k, name := range kindNames {
		if name == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown bridge fault %q (want delay, drop, corrupt or disconnect)", s)
}

// Fault is a fault injected into the bridge at run time. A chunk is what
// one read of the source side returned (usually one frame or one reply).
type Fault struct {
	Dir   Dir // DevToPOS, POSToDev, or "" for both
	Kind  FaultKind
	Delay time.Duration // for Delay
	// Count is how many chunks the fault affects; 0 means every chunk until
	// ClearFaults.
	Count int
	// Offset is the byte of the chunk Corrupt flips: 0 the first, -1 the
	// last (the LRC of a frame); clamped to the chunk.
	Offset int
}

// faultState is an installed Fault with its remaining count.
type faultState struct {
	f    Fault
	left int // -1: unlimited
}

func (s *faultState) matches(d Dir) bool {
	return s.left != 0 && (s.f.Dir == "" || s.f.Dir == d)
}

// corrupt returns a copy of chunk with the byte at off flipped.
func corrupt(chunk []byte, off int) []byte {
	out := append([]byte(nil), chunk...)
	if len(out) == 0 {
		return out
	}
	if off < 0 {
		off += len(out)
	}
	off = min(max(off, 0), len(out)-1)
	out[off] ^= 0xFF
	return out
}
