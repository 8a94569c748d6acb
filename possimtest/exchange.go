package possimtest

import (
	"slices"
	"strconv"
	"time"

	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

// Exchange is one request the host received and the answer it sent, as
// the host's trace shows them: PAN masked 6+4, tracks, PIN block and ICC
// data reduced to their length.
type Exchange struct {
	Time    time.Time
	Remote  string // the terminal's address
	Request Message
	// Response is nil when the host did not answer (a drop or close fault,
	// maintenance refuse). A duplicate fault's second answer is in Extra.
	Response *Message
	Extra    []Message
}

// Message is one ISO 8583 message.
type Message struct {
	MTI string
	// Code is field 39 of an answer.
	Code string
	// Note says what a fault did to the message, if anything.
	Note   string
	Fields []Field // in field number order, bitmap left out
}

// Field is one field of a message, named.
type Field struct {
	ID    int
	Name  string // "Processing Code", "Systems Trace Audit Number (STAN)"...
	Value string // masked as on the trace
	// Meaning says what a code means, for fields 3, 22, 39 and 70: "purchase",
	// "chip, terminal can take a PIN", "APPROVED", "sign-on".
	Meaning string
}

// Field returns the field with id, and false if the message has none.
func (m Message) Field(id int) (Field, bool) {
	for _, f := range m.Fields {
		if f.ID == id {
			return f, true
		}
	}
	return Field{}, false
}

// Value is field id's value, or "".
func (m Message) Value(id int) string {
	f, _ := m.Field(id)
	return f.Value
}

// exchanges pairs the host's events: each answer goes with the latest
// unanswered request from the same terminal with the same STAN.
func exchanges(evs []acquirer.Event) []Exchange {
	out := []Exchange{}
	for _, ev := range evs {
		m := message(ev)
		if ev.Dir == "in" {
			out = append(out, Exchange{Time: ev.Time, Remote: ev.Remote, Request: m})
			continue
		}
		i := answered(out, ev)
		switch {
		case i < 0:
			// An answer to nothing the log still holds (it wrapped).
			out = append(out, Exchange{Time: ev.Time, Remote: ev.Remote, Response: &m})
		case out[i].Response == nil:
			out[i].Response = &m
		default:
			out[i].Extra = append(out[i].Extra, m)
		}
	}
	return out
}

func answered(xs []Exchange, ev acquirer.Event) int {
	for i := len(xs) - 1; i >= 0; i-- {
		req := xs[i].Request
		if req.MTI == "" || xs[i].Remote != ev.Remote || req.Value(11) != ev.Fields["11"] {
			continue
		}
		if iso.ResponseMTI(req.MTI) == ev.MTI || req.MTI == ev.MTI {
			return i
		}
	}
	return -1
}

func message(ev acquirer.Event) Message {
	m := Message{MTI: ev.MTI, Code: ev.RespCode, Note: ev.Note}
	ids := make([]int, 0, len(ev.Fields))
	for k := range ev.Fields {
		if id, err := strconv.Atoi(k); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		v := ev.Fields[strconv.Itoa(id)]
		m.Fields = append(m.Fields, Field{ID: id, Name: iso.SpecFieldName(iso.Spec87, id), Value: v, Meaning: iso.CodeMeaning(ev.MTI, id, v)})
	}
	return m
}
