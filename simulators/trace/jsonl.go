package trace

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/virtualdevices/bridge"
)

// jsonLine is the union of the line formats: a host trace line
// (acquirer.Event), a timeline line (harness.Event) and a bridge record
// line (bridge.Record). Which one a line is shows in its keys.
type jsonLine struct {
	// possim host --trace
	Time   *time.Time        `json:"time"`
	Dir    string            `json:"dir"`
	Remote string            `json:"remote"`
	MTI    string            `json:"mti"`
	Fields map[string]string `json:"fields"`
	Note   string            `json:"note"`
	// lab timeline, possim run --timeline
	Seq    *int           `json:"seq"`
	AtNS   *time.Duration `json:"at_ns"`
	Source string         `json:"source"`
	Kind   string         `json:"kind"`
	Text   string         `json:"text"`
	// possim bridge --record
	T     string `json:"t"`
	Hex   string `json:"hex"`
	Fault string `json:"fault"`
	Sent  string `json:"sent"`
	Event string `json:"event"`
}

// The acquirer and bridge types are what these lines are written from;
// naming them here keeps the reader next to the writers' definitions.
var (
	_ = acquirer.Event{}
	_ = bridge.Record{}
)

// readJSONL reads possim's JSON lines: host traces, timelines and bridge
// recordings, told apart line by line. A line that is not one of them is
// a Problem naming the line; the others are still read.
func readJSONL(r io.Reader, opts Options) (*Trace, error) {
	t := &Trace{Format: FormatJSONL}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(trimSpace(b)) == 0 {
			continue
		}
		where := "line " + strconv.Itoa(line)
		if err := t.addJSONLine(b, where, opts.Dialect); err != nil {
			t.Problems = append(t.Problems, Problem{Where: where, Err: err})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading JSON lines: %w", err)
	}
	return t, nil
}

func (t *Trace) addJSONLine(b []byte, where string, d *iso.Dialect) error {
	var l jsonLine
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	switch {
	case l.Seq != nil && l.AtNS != nil:
		return t.addTimeline(l, where, d)
	case l.T != "":
		return t.addBridge(l, where)
	case l.Time != nil && l.MTI != "":
		if l.Dir != DirIn && l.Dir != DirOut {
			return fmt.Errorf("host trace line with dir %q; want in or out", l.Dir)
		}
		conn := l.Remote
		if conn == "" {
			conn = "host"
		}
		t.Messages = append(t.Messages, &Message{Kind: KindISO, Time: *l.Time, Conn: conn, Dir: l.Dir,
			Where: where, MTI: l.MTI, Fields: fieldsOf(d, l.MTI, l.Fields), Note: l.Note,
			NotSent: strings.Contains(l.Note, "not sent")})
		return nil
	}
	return errors.New("neither a host trace line (time, dir, mti), a timeline line (seq, at_ns) nor a bridge record line (t)")
}

// addTimeline takes the wire messages of a timeline. The directions are
// turned to the host's side: a terminal's iso_out is the host's in.
func (t *Trace) addTimeline(l jsonLine, where string, d *iso.Dialect) error {
	if l.MTI == "" || (l.Kind != "iso_in" && l.Kind != "iso_out") {
		t.Skipped++
		return nil
	}
	dir := DirIn
	if l.Kind == "iso_out" {
		dir = DirOut
	}
	if l.Source != "host" {
		dir = map[string]string{DirIn: DirOut, DirOut: DirIn}[dir]
	}
	t.Messages = append(t.Messages, &Message{Kind: KindISO, At: *l.AtNS, HasAt: true, Conn: l.Source, Dir: dir,
		Where: where, MTI: l.MTI, Fields: fieldsOf(d, l.MTI, l.Fields), Note: l.Text,
		NotSent: strings.Contains(l.Text, "not sent")})
	return nil
}

// addBridge takes one line of a bridge recording: device bytes shown as
// text with digit runs that could be a PAN masked, or an event.
func (t *Trace) addBridge(l jsonLine, where string) error {
	at, err := time.Parse(time.RFC3339Nano, l.T)
	if err != nil {
		return fmt.Errorf("bridge record time %q: %w", l.T, err)
	}
	m := &Message{Time: at, Conn: "bridge", Where: where, Note: l.Fault}
	switch {
	case l.Event != "":
		m.Kind, m.Text = KindEvent, l.Event
	case l.Dir != "":
		raw, err := hex.DecodeString(l.Hex)
		if err != nil {
			return fmt.Errorf("bridge record hex: %w", err)
		}
		m.Kind, m.Dir, m.Length, m.Text = KindDevice, l.Dir, len(raw), bridge.Text(raw)
		if l.Sent != "" {
			if sent, err := hex.DecodeString(l.Sent); err == nil {
				m.Note += ": sent " + bridge.Text(sent)
			}
		}
	default:
		return errors.New("bridge record line with neither dir nor event")
	}
	t.Messages = append(t.Messages, m)
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
