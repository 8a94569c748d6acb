package pinpad

import (
	"fmt"
	"strings"
)

// Command names of the PIN pad protocol.
const (
	cmdStatus  = "STATUS"
	cmdLoadKey = "LOADKEY"
	cmdPIN     = "PIN"
	cmdDisplay = "DISPLAY"
	cmdCancel  = "CANCEL"
)

// Status words: the second word of every response.
const (
	swOK      = "OK"
	swTimeout = "TIMEOUT"
	swCancel  = "CANCEL"
	swNoKey   = "NOKEY"
	swErr     = "ERR"
)

// message is one response frame: a first line "CMD SW [detail]" and
// KEY=VALUE lines after it, in order.
type message struct {
	Cmd, SW, Detail string
	Fields          [][2]string
}

func (m message) get(key string) string {
	for _, f := range m.Fields {
		if f[0] == key {
			return f[1]
		}
	}
	return ""
}

func (m message) encode() []byte {
	var b strings.Builder
	b.WriteString(m.Cmd)
	b.WriteByte(' ')
	b.WriteString(m.SW)
	if m.Detail != "" {
		b.WriteByte(' ')
		b.WriteString(m.Detail)
	}
	for _, f := range m.Fields {
		b.WriteByte('\n')
		b.WriteString(f[0])
		b.WriteByte('=')
		b.WriteString(f[1])
	}
	return []byte(b.String())
}

// decodeMessage parses a response frame.
func decodeMessage(data []byte) (message, error) {
	lines := strings.Split(string(data), "\n")
	head := strings.SplitN(lines[0], " ", 3)
	if len(head) < 2 || head[0] == "" || head[1] == "" {
		return message{}, fmt.Errorf("response %q: want \"CMD STATUS [detail]\"", firstWords(lines[0]))
	}
	m := message{Cmd: head[0], SW: head[1]}
	if len(head) == 3 {
		m.Detail = head[2]
	}
	for i, l := range lines[1:] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return message{}, fmt.Errorf("response %s line %d: want KEY=VALUE", m.Cmd, i+2)
		}
		m.Fields = append(m.Fields, [2]string{k, v})
	}
	return m, nil
}

// firstWords keeps error messages short and free of card data: only the
// first word of an unknown frame is repeated, printable and at most 16 bytes.
func firstWords(s string) string {
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
