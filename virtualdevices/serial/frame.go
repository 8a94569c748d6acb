package serial

import (
	"errors"
	"fmt"
)

// Control bytes of the frame protocol (docs/devices.md, part 1).
const (
	STX = 0x02 // start of a frame
	ETX = 0x03 // end of a frame's data; the LRC byte follows
	EOT = 0x04 // sender gave up after Retries failures
	ACK = 0x06 // frame received with a good LRC
	NAK = 0x15 // frame received with a bad LRC: send it again
)

// Errors of the frame codec.
var (
	ErrBadLRC    = errors.New("bad LRC")
	ErrMalformed = errors.New("malformed frame")
	// ErrFrameData is returned for data that cannot be framed: it contains
	// STX or ETX (the protocol has no escaping) or exceeds MaxFrame.
	ErrFrameData = errors.New("data cannot be framed")
)

// LRC is the XOR of b. The frame LRC is LRC(data + ETX).
func LRC(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// EncodeFrame returns STX data ETX LRC. data must not contain STX or ETX
// (FrameLink.Send checks; EncodeFrame does not).
func EncodeFrame(data []byte) []byte {
	return AppendFrame(make([]byte, 0, len(data)+3), data)
}

// AppendFrame appends the frame of data to dst, for callers that reuse a buffer.
func AppendFrame(dst, data []byte) []byte {
	dst = append(dst, STX)
	dst = append(dst, data...)
	dst = append(dst, ETX, LRC(data)^ETX)
	return dst
}

// DecodeFrame checks that b is exactly one frame and returns its data
// (a sub-slice of b). Errors wrap ErrMalformed or ErrBadLRC.
func DecodeFrame(b []byte) ([]byte, error) {
	if len(b) < 3 {
		return nil, fmt.Errorf("%w: %d bytes, want at least 3", ErrMalformed, len(b))
	}
	if b[0] != STX {
		return nil, fmt.Errorf("%w: starts with 0x%02X, want STX", ErrMalformed, b[0])
	}
	if b[len(b)-2] != ETX {
		return nil, fmt.Errorf("%w: no ETX before the LRC", ErrMalformed)
	}
	data := b[1 : len(b)-2]
	for i, c := range data {
		if c == STX || c == ETX {
			return nil, fmt.Errorf("%w: control byte 0x%02X in data at offset %d", ErrMalformed, c, i+1)
		}
	}
	if got, want := b[len(b)-1], LRC(data)^ETX; got != want {
		return nil, fmt.Errorf("%w: got 0x%02X, want 0x%02X", ErrBadLRC, got, want)
	}
	return data, nil
}

// EventKind says what a byte fed to a Decoder completed.
type EventKind int

const (
	EventNone      EventKind = iota // nothing yet
	EventFrame                      // a frame with a good LRC; Data holds its data
	EventControl                    // ACK, NAK or EOT outside a frame; Byte holds it
	EventGarbage                    // a byte outside any frame was skipped; Byte holds it
	EventBadLRC                     // a complete frame with a bad LRC (answer NAK)
	EventTruncated                  // STX arrived inside a frame: the partial frame (Data) is dropped
	EventOversize                   // frame data exceeded MaxFrame: skipped up to its end
)

var eventNames = [...]string{"none", "frame", "control", "garbage", "bad-lrc", "truncated", "oversize"}

func (k EventKind) String() string {
	if k >= 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what Decoder.Feed reports. Data aliases the decoder's buffer and
// is valid only until the next Feed.
type Event struct {
	Kind EventKind
	Data []byte
	Byte byte
}

type decState uint8

const (
	stIdle    decState = iota
	stData             // after STX
	stLRC              // after ETX
	stSkip             // oversize: discard up to ETX
	stSkipLRC          // oversize: discard the LRC
)

// Decoder splits a byte stream into frames and control bytes, one byte at a
// time, so it needs no look-ahead and never blocks. An STX inside a frame
// starts a new frame: this is how a receiver resynchronises after a sender
// died mid-frame. Bytes 0x04/0x06/0x15 inside a frame are data.
type Decoder struct {
	// MaxFrame is the largest data length accepted (default 4096).
	MaxFrame int
	state    decState
	buf      []byte
}

// Reset drops any partial frame.
func (d *Decoder) Reset() { d.state, d.buf = stIdle, d.buf[:0] }

// InFrame reports whether a frame has started and not yet ended.
func (d *Decoder) InFrame() bool { return d.state != stIdle }

// Feed consumes one byte and reports what it completed, if anything.
func (d *Decoder) Feed(c byte) Event {
	max := d.MaxFrame
	if max <= 0 {
		max = DefaultMaxFrame
	}
	switch d.state {
	case stIdle:
		switch c {
		case STX:
			d.state, d.buf = stData, d.buf[:0]
			return Event{}
		case ACK, NAK, EOT:
			return Event{Kind: EventControl, Byte: c}
		default:
			return Event{Kind: EventGarbage, Byte: c}
		}
	case stData:
		switch c {
		case STX:
			ev := Event{Kind: EventTruncated, Data: d.buf}
			d.buf = d.buf[:0] // Data stays readable until the next Feed
			return ev
		case ETX:
			d.state = stLRC
			return Event{}
		}
		if len(d.buf) >= max {
			d.state = stSkip
			return Event{Kind: EventOversize}
		}
		d.buf = append(d.buf, c)
		return Event{}
	case stLRC:
		d.state = stIdle
		if c != LRC(d.buf)^ETX {
			return Event{Kind: EventBadLRC, Data: d.buf, Byte: c}
		}
		return Event{Kind: EventFrame, Data: d.buf}
	case stSkip:
		switch c {
		case STX:
			d.state, d.buf = stData, d.buf[:0]
		case ETX:
			d.state = stSkipLRC
		}
		return Event{}
	default: // stSkipLRC
		d.state = stIdle
		return Event{}
	}
}
