package serial

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadMessage is wrapped by ParseMessage errors.
var ErrBadMessage = errors.New("bad message")

// Message is one answer of a command device (card reader, PIN pad): a first
// line "CMD STATUS [detail]" and KEY=VALUE lines after it, separated by LF
// (docs/devices.md, part 2). It lives here, not in each device, because
// every command device answers in this shape and drivers match answers to
// commands by Cmd.
type Message struct {
	Cmd    string // the command answered, echoed so stale answers can be skipped
	Status string // the status word: OK, TIMEOUT, CANCEL, ERR or a device's own
	Detail string // rest of the first line; may hold spaces
	// Fields are the KEY=VALUE lines, in order. Keys are never empty and
	// hold no '='; values hold no LF.
	Fields [][2]string
}

// Field returns the value of the first field named key, "" if none.
func (m Message) Field(key string) string {
	for _, f := range m.Fields {
		if f[0] == key {
			return f[1]
		}
	}
	return ""
}

// Encode returns the frame data of m.
func (m Message) Encode() []byte {
	n := len(m.Cmd) + 1 + len(m.Status) + 1 + len(m.Detail)
	for _, f := range m.Fields {
		n += 2 + len(f[0]) + len(f[1])
	}
	b := make([]byte, 0, n)
	b = append(b, m.Cmd...)
	b = append(b, ' ')
	b = append(b, m.Status...)
	if m.Detail != "" {
		b = append(b, ' ')
		b = append(b, m.Detail...)
	}
	for _, f := range m.Fields {
		b = append(b, '\n')
		b = append(b, f[0]...)
		b = append(b, '=')
		b = append(b, f[1]...)
	}
	return b
}

// ParseMessage parses the data of an answer frame. Errors wrap
// ErrBadMessage and repeat none of the data, so they are safe to log
// whatever card data the frame carried.
func ParseMessage(data []byte) (Message, error) {
	lines := strings.Split(string(data), "\n")
	head := strings.SplitN(lines[0], " ", 3)
	if len(head) < 2 || head[0] == "" || head[1] == "" {
		return Message{}, fmt.Errorf("%w: first line of %d bytes: want \"CMD STATUS [detail]\"", ErrBadMessage, len(lines[0]))
	}
	m := Message{Cmd: head[0], Status: head[1]}
	if len(head) == 3 {
		m.Detail = head[2]
	}
	for i, l := range lines[1:] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return Message{}, fmt.Errorf("%w: line %d: want KEY=VALUE", ErrBadMessage, i+2)
		}
		m.Fields = append(m.Fields, [2]string{k, v})
	}
	return m, nil
}

// FirstWord returns the start of s up to the first space, control or
// non-ASCII byte, at most 16 bytes, or "?" if that is empty. Devices echo it
// as the name of an unknown command and logs repeat it, so a frame that
// carries card data never gets further than its first word.
func FirstWord(s string) string {
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7F }); i >= 0 {
		s = s[:i]
	}
	if len(s) > 16 {
		s = s[:16]
	}
	if s == "" {
		return "?"
	}
	return s
}
