package trace

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// WriteText writes every message, one header line and one line per field,
// then the problems, gaps and the summary line.
func WriteText(w io.Writer, t *Trace) error {
	ew := &errWriter{w: w}
	if t.HostPort != 0 {
		ew.printf("host port %d (%s)\n", t.HostPort, t.HostBy)
	}
	for _, m := range t.Messages {
		ew.printf("#%d %s %s %s", m.N, stamp(m), m.Conn, m.Dir)
		switch {
		case m.Kind == KindEvent:
			ew.printf(" %s", m.Text)
		case m.Kind == KindDevice:
			ew.printf(" %d bytes %s", m.Length, m.Text)
		case m.Malformed != "":
			ew.printf(" MALFORMED %d bytes, first %d: %s (%s)", m.Length, len(m.Head), hex.EncodeToString(m.Head), m.Malformed)
		default:
			ew.printf(" %s", m.MTI)
			if m.TPDU != nil {
				ew.printf(" tpdu %s", hex.EncodeToString(m.TPDU))
			}
			if m.AppHeader != nil {
				ew.printf(" header %s", hex.EncodeToString(m.AppHeader))
			}
			if m.Exchange > 0 {
				ew.printf(" exchange %d", m.Exchange)
			}
			if m.Role != "" {
				ew.printf(" %s", m.Role)
			}
		}
		if m.Note != "" {
			ew.printf(" [%s]", m.Note)
		}
		if m.Where != "" {
			ew.printf(" (%s)", m.Where)
		}
		ew.printf("\n")
		for _, f := range m.Fields {
			ew.printf("    %3d %s = %s", f.Num, f.Name, f.Value)
			if f.Meaning != "" {
				ew.printf(" (%s)", f.Meaning)
			}
			ew.printf("\n")
		}
	}
	for _, g := range t.Gaps {
		ew.printf("gap: %v\n", g)
	}
	if t.Skipped > 0 {
		ew.printf("%d timeline events that are not wire messages left out\n", t.Skipped)
	}
	for _, p := range t.Problems {
		ew.printf("unreadable: %v\n", p)
	}
	ew.printf("%s\n", Summarize(t.Messages))
	return ew.err
}

func stamp(m *Message) string {
	switch {
	case m.HasAt:
		return fmt.Sprintf("+%.6fs", m.At.Seconds())
	case m.Time.IsZero():
		return "-"
	case m.TimeOfDay:
		return m.Time.Format("15:04:05.000000")
	}
	return m.Time.UTC().Format(time.RFC3339Nano)
}

// jsonMessage is one message of --json.
type jsonMessage struct {
	N         int         `json:"n"`
	Kind      string      `json:"kind"`
	Time      string      `json:"time,omitempty"`        // RFC 3339
	TimeOfDay string      `json:"time_of_day,omitempty"` // a stamp without a date
	AtNS      *int64      `json:"at_ns,omitempty"`
	Conn      string      `json:"conn,omitempty"`
	Dir       string      `json:"dir,omitempty"`
	Where     string      `json:"where,omitempty"`
	MTI       string      `json:"mti,omitempty"`
	TPDU      string      `json:"tpdu,omitempty"`       // hex, as on the wire
	AppHeader string      `json:"app_header,omitempty"` // hex, as on the wire
	Exchange  int         `json:"exchange,omitempty"`
	Role      string      `json:"role,omitempty"`
	Fields    []jsonField `json:"fields,omitempty"`
	Malformed string      `json:"malformed,omitempty"`
	Length    int         `json:"length,omitempty"`
	HeadHex   string      `json:"head_hex,omitempty"`
	Text      string      `json:"text,omitempty"`
	Note      string      `json:"note,omitempty"`
}

type jsonField struct {
	Num     int    `json:"num"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Meaning string `json:"meaning,omitempty"`
}

// WriteJSON writes one JSON object per message, snake_case keys, times in
// RFC 3339; the problems, gaps and summary are not messages and are left
// to the caller.
func WriteJSON(w io.Writer, t *Trace) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, m := range t.Messages {
		j := jsonMessage{N: m.N, Kind: m.Kind, Conn: m.Conn, Dir: m.Dir, Where: m.Where, MTI: m.MTI,
			Exchange: m.Exchange, Role: m.Role, Malformed: m.Malformed, Length: m.Length, Text: m.Text, Note: m.Note}
		if m.HasAt {
			ns := m.At.Nanoseconds()
			j.AtNS = &ns
		} else if m.TimeOfDay {
			j.TimeOfDay = m.Time.Format("15:04:05.999999999")
		} else if !m.Time.IsZero() {
			j.Time = m.Time.UTC().Format(time.RFC3339Nano)
		}
		j.TPDU, j.AppHeader = hex.EncodeToString(m.TPDU), hex.EncodeToString(m.AppHeader)
		if m.Malformed != "" {
			j.HeadHex = hex.EncodeToString(m.Head)
		}
		for _, f := range m.Fields {
			j.Fields = append(j.Fields, jsonField(f))
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, a...)
}
