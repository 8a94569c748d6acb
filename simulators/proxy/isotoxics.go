package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/possim/possim/simulators/iso"
)

// The ISO toxics' type names, as the API takes them.
const (
	TypeDrop         = "iso_drop"
	TypeDelay        = "iso_delay"
	TypeAmount       = "iso_amount"
	TypeDuplicate    = "iso_duplicate"
	TypeGarble       = "iso_garble"
	TypeHoldReversal = "iso_hold_reversal"
)

// Toxiproxy's toxic registry is one per process (toxics.Register), as its
// own toxics register themselves; ours join it the same way.
func init() {
	toxics.Register(TypeDrop, new(DropToxic))
	toxics.Register(TypeDelay, new(DelayToxic))
	toxics.Register(TypeAmount, new(AmountToxic))
	toxics.Register(TypeDuplicate, new(DuplicateToxic))
	toxics.Register(TypeGarble, new(GarbleToxic))
	toxics.Register(TypeHoldReversal, new(HoldReversalToxic))
	toxics.Register(TypeTrace, new(TraceToxic))
}

// Match picks the messages an ISO toxic acts on: all of its fields that are
// set must agree. Nth counts the matching messages of the toxic over all
// its connections, so "drop the second 0210" means the second one the
// proxy carries, whichever terminal it goes to.
type Match struct {
	MTI        Text `json:"mti,omitempty"`         // e.g. "0210"; empty: any
	MatchField int  `json:"match_field,omitempty"` // a field number; 0: none
	MatchValue Text `json:"match_value,omitempty"` // the value MatchField must have
	Nth        int  `json:"nth,omitempty"`         // act on the n-th match only; 0: on every match

	mu   sync.Mutex
	seen int
}

// hit says whether the toxic acts on m, counting the matches.
func (mt *Match) hit(m *iso8583.Message) bool {
	return mt.hitMTI(m, nil)
}

// hitMTI is hit with a set of MTIs used when mt.MTI is empty.
func (mt *Match) hitMTI(m *iso8583.Message, defaults []string) bool {
	mti, _ := m.GetMTI()
	switch {
	case mt.MTI != "":
		if !sameDigits(mti, string(mt.MTI)) {
			return false
		}
	case len(defaults) > 0:
		found := false
		for _, d := range defaults {
			found = found || d == mti
		}
		if !found {
			return false
		}
	}
	if mt.MatchField > 0 {
		v, err := m.GetString(mt.MatchField)
		if err != nil || !sameDigits(v, string(mt.MatchValue)) {
			return false
		}
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	mt.seen++
	return mt.Nth <= 0 || mt.seen == mt.Nth
}

// Text is a string attribute that also takes a JSON number:
// toxiproxy-cli sends "-a mti=0210" as the number 210, and shows only
// numbers.
type Text string

func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*t = Text(n.String())
	return nil
}

// MarshalJSON shows digits as a number, as toxiproxy-cli expects every
// attribute to be (its inspect fails on a string): "0210" shows as 210.
func (t Text) MarshalJSON() ([]byte, error) {
	if allDigits(string(t)) {
		n := strings.TrimLeft(string(t), "0")
		if n == "" {
			n = "0"
		}
		return []byte(n), nil
	}
	return json.Marshal(string(t))
}

// sameDigits says whether a message's value v is want: the same text, or,
// both being digits, the same number ("0210" is 210 as toxiproxy-cli sends
// it).
func sameDigits(v, want string) bool {
	if v == want {
		return true
	}
	if !allDigits(v) || !allDigits(want) {
		return false
	}
	return strings.TrimLeft(v, "0") == strings.TrimLeft(want, "0")
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// pass sends the frame on as it came.
func (f *isoFrame) pass() []out { return []out{{data: f.raw}} }

// repack frames the message again after a change, in the envelope it came
// in (TPDU and header byte for byte); a message that no longer packs goes
// on as it came.
func (f *isoFrame) repack() []out {
	if frame, ok := f.packed(); ok {
		return []out{{data: frame}}
	}
	return f.pass()
}

// packed is the message framed again, in the envelope it came in.
func (f *isoFrame) packed() ([]byte, bool) {
	packed, err := f.msg.Pack()
	if err != nil {
		return nil, false
	}
	frame, err := f.d.AppendFrame(nil, f.env, packed)
	return frame, err == nil
}

// frameToxic is the part every ISO toxic shares: the wire it reads (a
// number, as the trace's sink: Toxiproxy makes toxics from their JSON
// attributes alone), per-connection framing state, and what is held is
// sent on when the toxic is removed.
type frameToxic struct {
	// Wire is the server's dialect, set by the server on every ISO toxic
	// it creates; 0 or unknown: possim87.
	Wire int64 `json:"wire,omitempty"`
}

func (frameToxic) NewState() any                  { return newFrameState() }
func (frameToxic) Cleanup(stub *toxics.ToxicStub) { cleanupFrames(stub) }

// dialect is the wire the toxic frames the stream in.
func (t frameToxic) dialect() *iso.Dialect {
	if v, ok := wires.Load(t.Wire); ok {
		return v.(*iso.Dialect)
	}
	return iso.Possim87()
}

// DropToxic drops the matching messages: a host that never answers.
type DropToxic struct {
	frameToxic
	Match
}

func (t *DropToxic) Pipe(stub *toxics.ToxicStub) {
	pipeFrames(stub, t.dialect(), func(f *isoFrame) []out {
		if t.hit(f.msg) {
			return nil
		}
		return f.pass()
	})
}

// DelayToxic holds the matching messages for Delay milliseconds while the
// rest of the stream goes on: one slow answer, not a slow link.
type DelayToxic struct {
	frameToxic
	Match
	Delay int64 `json:"delay"` // milliseconds
}

func (t *DelayToxic) Pipe(stub *toxics.ToxicStub) {
	pipeFrames(stub, t.dialect(), func(f *isoFrame) []out {
		if t.hit(f.msg) {
			return []out{{data: f.raw, after: ms(t.Delay)}}
		}
		return f.pass()
	})
}

// AmountToxic rewrites field 4 of the matching messages to Amount (minor
// units): an answer approving another amount than was asked.
type AmountToxic struct {
	frameToxic
	Match
	Amount int64 `json:"amount"` // minor units, e.g. 1 for 0.01
}

func (t *AmountToxic) Pipe(stub *toxics.ToxicStub) {
	pipeFrames(stub, t.dialect(), func(f *isoFrame) []out {
		if !t.hit(f.msg) || t.Amount < 0 {
			return f.pass()
		}
		if err := f.msg.Field(4, fmt.Sprintf("%012d", t.Amount)); err != nil {
			return f.pass()
		}
		return f.repack()
	})
}

// DuplicateToxic sends the matching messages twice, the copy Gap
// milliseconds after: a retransmitted answer.
type DuplicateToxic struct {
	frameToxic
	Match
	Gap int64 `json:"gap"` // milliseconds between the two
}

func (t *DuplicateToxic) Pipe(stub *toxics.ToxicStub) {
	pipeFrames(stub, t.dialect(), func(f *isoFrame) []out {
		if !t.hit(f.msg) {
			return f.pass()
		}
		return []out{{data: f.raw}, {data: append([]byte(nil), f.raw...), after: ms(t.Gap)}}
	})
}

// GarbleToxic spoils one field of the matching messages: its characters
// become 'Z', so the message still frames but says nonsense there. Field 0
// (or a field that cannot hold 'Z') spoils the bitmap instead, and the
// message no longer unpacks.
type GarbleToxic struct {
	frameToxic
	Match
	Field int `json:"field"`
}

func (t *GarbleToxic) Pipe(stub *toxics.ToxicStub) {
	pipeFrames(stub, t.dialect(), func(f *isoFrame) []out {
		if !t.hit(f.msg) {
			return f.pass()
		}
		if t.Field > 1 {
			if v, err := f.msg.GetString(t.Field); err == nil && v != "" {
				if f.msg.Field(t.Field, strings.Repeat("Z", len(v))) == nil {
					if frame, ok := f.packed(); ok {
						return []out{{data: frame}}
					}
				}
			}
		}
		return []out{{data: garbleBitmap(f)}}
	})
}

// garbleBitmap spoils the bitmap after the MTI, as the host's garble
// fault does: the receiver cannot unpack what follows. A hex bitmap gets
// 'Z's, a binary one every bit set (more fields than the frame holds).
func garbleBitmap(f *isoFrame) []byte {
	g := append([]byte(nil), f.raw...)
	at, n, fill := f.off+mtiSize(f.msg), 16, byte('Z')
	if bm, ok := f.d.Spec.Fields[1].(*field.Bitmap); ok && bm.Spec().Enc == encoding.Binary {
		n, fill = 8, 0xff
	}
	for i := at; i < len(g) && i < at+n; i++ {
		g[i] = fill
	}
	return g
}

// mtiSize is the packed size of the MTI: 4 ASCII digits or 2 BCD bytes.
func mtiSize(m *iso8583.Message) int {
	if f := m.GetField(0); f != nil {
		if b, err := f.Pack(); err == nil {
			return len(b)
		}
	}
	return 4
}

// HoldReversalToxic holds reversals (0400, 0401, or the MTI of Match) for
// Hold milliseconds while the rest of the stream goes on: the next sale
// reaches the host before the reversal of the last one. It belongs on the
// upstream stream, where reversals travel.
type HoldReversalToxic struct {
	frameToxic
	Match
	Hold int64 `json:"hold"` // milliseconds
}

func (t *HoldReversalToxic) Pipe(stub *toxics.ToxicStub) {
	pipeFrames(stub, t.dialect(), func(f *isoFrame) []out {
		if t.hitMTI(f.msg, []string{"0400", "0401"}) {
			return []out{{data: f.raw, after: ms(t.Hold)}}
		}
		return f.pass()
	})
}
