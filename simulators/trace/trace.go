package trace

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/possim/possim/simulators/iso"
)

// Format names the kind of input a trace was read from.
type Format string

// The formats Read detects.
const (
	FormatPcap    Format = "pcap"
	FormatPcapNG  Format = "pcapng"
	FormatJSONL   Format = "jsonl"
	FormatHexDump Format = "hexdump"
)

// Kinds of Message.
const (
	KindISO    = "iso"    // an ISO 8583 message, decoded
	KindDevice = "device" // device bytes of a bridge recording
	KindEvent  = "event"  // something that happened on a connection (bridge events)
)

// Directions of a Message, from the host's side: "in" is terminal to host.
// Device bytes use the bridge's own directions.
const (
	DirIn  = "in"
	DirOut = "out"
)

// Message is one thing on the wire.
type Message struct {
	N    int       // 1-based, in Trace order
	Kind string    // KindISO, KindDevice or KindEvent
	Time time.Time // zero when the source has only offsets
	// At is the time since the start of the trace, for sources that keep
	// no wall clock (the lab timeline); zero otherwise.
	At    time.Duration
	HasAt bool
	// TimeOfDay: the source gave a time of day without a date (host logs);
	// Time then holds it on day zero.
	TimeOfDay bool
	Conn      string // connection or source: "127.0.0.1:50412-127.0.0.1:8583", "host", "cardreader"
	Dir       string // DirIn, DirOut, or a bridge direction
	Where     string // where in the input: "packet 12", "line 3"
	MTI       string
	// TPDU and AppHeader are the envelope the message travelled in, as
	// on the wire; nil when the dialect has none or the source keeps none.
	TPDU      []byte
	AppHeader []byte
	Fields    []Field // in field-number order, values masked
	// Malformed says why the frame could not be decoded; Length and Head
	// are then all that is shown of it (the rest could hold card data).
	Malformed string
	Length    int
	Head      []byte
	Text      string // device bytes (masked) or an event's text
	Note      string // what the source says about it (a fault, a gap)
	// NotSent: the source recorded the message but says it never went on
	// the wire (a host trace's "fault drop: not sent").
	NotSent bool

	// raw is the frame body as it was on the wire, for replay; nil for
	// sources that keep only masked values (host traces, timelines).
	raw []byte

	Exchange int    // 1-based exchange number, 0 when none
	Role     string // "request", "response", "unanswered", "unsolicited"
}

// Field is one field of a message.
type Field struct {
	Num     int
	Name    string
	Value   string // masked: PAN 6+4, tracks, PIN block and ICC data as "[n bytes]"
	Meaning string // of the code, for fields 3, 22, 39 and 70
}

// Field returns the value of field n, or "".
func (m *Message) Field(n int) string {
	for _, f := range m.Fields {
		if f.Num == n {
			return f.Value
		}
	}
	return ""
}

// Problem is a part of the input that could not be read.
type Problem struct {
	Where string // "packet 7", "line 3", "connection A-B at byte 120"
	Err   error
}

func (p Problem) Error() string { return p.Where + ": " + p.Err.Error() }

// Trace is what Read found.
type Trace struct {
	Format   Format
	Messages []*Message
	// Problems lists what could not be read: a truncated capture, a line
	// that is not JSON or hex, bytes missing from a TCP stream. Messages
	// still holds everything that could.
	Problems []Problem
	// Gaps lists bytes a capture missed (sequence numbers never seen),
	// by connection and stream position; the messages around them are
	// still decoded.
	Gaps []Problem
	// Skipped counts lines of a timeline that are not wire messages
	// (device events, state changes).
	Skipped int
	// HostPort is the port taken as the host's in a capture, and how it
	// was chosen.
	HostPort int
	HostBy   string
}

// Options tell Read how to read.
type Options struct {
	Dialect *iso.Dialect // the wire's spec and framing; nil: possim87
	Port    int          // host port in captures; 0 guesses it
}

// ErrUnknownFormat is returned for input whose format is not recognised.
var ErrUnknownFormat = errors.New("unknown trace format")

// Read detects the format of r and reads it whole. The error is for input
// that cannot be read at all; partly readable input gives a Trace with
// Problems.
func Read(r io.Reader, opts Options) (*Trace, error) {
	opts.Dialect = wire(opts.Dialect)
	br := bufio.NewReader(r)
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading trace: %w", err)
		}
		return nil, errors.New("empty trace: no bytes to read")
	}
	var t *Trace
	switch f := detect(head); f {
	case FormatPcap, FormatPcapNG:
		t, err = readCapture(br, f, opts)
	case FormatJSONL:
		t, err = readJSONL(br, opts)
	case FormatHexDump:
		t, err = readHexDump(br, opts)
	default:
		return nil, fmt.Errorf("%w: starts with % x; want a pcap or pcapng capture, JSON lines or hex lines", ErrUnknownFormat, head)
	}
	if err != nil {
		return nil, err
	}
	finish(t)
	return t, nil
}

func detect(head []byte) Format {
	if len(head) >= 4 {
		switch string(head[:4]) {
		case "\xa1\xb2\xc3\xd4", "\xd4\xc3\xb2\xa1", "\xa1\xb2\x3c\x4d", "\x4d\x3c\xb2\xa1":
			return FormatPcap
		case "\x0a\x0d\x0d\x0a":
			return FormatPcapNG
		}
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 {
		return FormatHexDump // blank lines first: the hex reader says more
	}
	if trimmed[0] == '{' {
		return FormatJSONL
	}
	if trimmed[0] < 0x80 {
		return FormatHexDump
	}
	return ""
}

// finish puts a capture's messages in time order (they come connection
// by connection; stable, so equal times keep the capture's order),
// numbers them and matches exchanges. Line sources keep their own order:
// a log is written as things happen, and a time-of-day stamp without a
// date would sort wrong.
func finish(t *Trace) {
	if t.Format == FormatPcap || t.Format == FormatPcapNG {
		sort.SliceStable(t.Messages, func(i, j int) bool {
			return t.Messages[i].Time.Before(t.Messages[j].Time)
		})
	}
	for i, m := range t.Messages {
		m.N = i + 1
	}
	Match(t.Messages)
}
