package trace

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

// Dialect is what a wire speaks: the message spec and the framing. Other
// dialects plug in with their own Spec, Header and MaxLength.
type Dialect struct {
	Name string
	Spec *iso8583.MessageSpec
	// Header is the length of the length header in bytes, and Length
	// reads it; a value outside 1..MaxLength is not a frame.
	Header    int
	Length    func(hdr []byte) int
	MaxLength int
}

// Possim87 is possim's wire: ASCII ISO 8583:1987, 2-byte big-endian length.
func Possim87() Dialect {
	return Dialect{
		Name:      "possim87",
		Spec:      iso.Spec87,
		Header:    2,
		Length:    func(h []byte) int { return int(h[0])<<8 | int(h[1]) },
		MaxLength: iso.MaxMessageLength,
	}
}

// headLen is how much of a malformed frame is shown: enough to see the
// MTI and the start of the bitmap, too little for a PAN after them.
const headLen = 16

// frameLength reads the header at the start of b: the body length, or an
// error saying why it is no frame.
func (d Dialect) frameLength(b []byte) (int, error) {
	n := d.Length(b[:d.Header])
	switch {
	case n == 0:
		return 0, errors.New("length header says 0 bytes")
	case n > d.MaxLength:
		return 0, fmt.Errorf("length header says %d bytes (limit %d): not an ISO 8583 frame", n, d.MaxLength)
	}
	return n, nil
}

// decode unpacks one message body into m. A body that does not unpack
// makes m malformed with its length and first bytes.
func (d Dialect) decode(m *Message, body []byte) {
	m.Kind = KindISO
	msg := iso8583.NewMessage(d.Spec)
	if err := unpack(msg, body); err != nil {
		malformed(m, body, err.Error())
		return
	}
	m.MTI, _ = msg.GetMTI()
	m.raw = append([]byte(nil), body...)
	m.Fields = d.fieldsOf(m.MTI, acquirer.MaskedFields(msg))
}

// unpack guards against a panic in the unpacker: a trace is outside input,
// and one bad frame must not end the reading of the others.
func unpack(msg *iso8583.Message, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unpacking: %v", r)
		}
	}()
	return msg.Unpack(body)
}

func malformed(m *Message, raw []byte, why string) {
	m.Kind = KindISO
	m.Malformed = why
	m.Length = len(raw)
	m.Head = append([]byte(nil), raw[:min(len(raw), headLen)]...)
	m.Fields = nil
}

// fields turns already masked values keyed by field number into Fields
// with names and meanings, in number order.
func (d Dialect) fieldsOf(mti string, values map[string]string) []Field {
	out := make([]Field, 0, len(values))
	for k, v := range values {
		n, err := strconv.Atoi(k)
		if err != nil || n <= 1 {
			continue
		}
		out = append(out, Field{Num: n, Name: d.name(n), Value: v, Meaning: meaning(mti, n, v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Num < out[j].Num })
	return out
}

func (d Dialect) name(n int) string {
	if f, ok := d.Spec.Fields[n]; ok && f.Spec() != nil && f.Spec().Description != "" {
		return f.Spec().Description
	}
	return "Field " + strconv.Itoa(n)
}

func meaning(mti string, n int, v string) string {
	switch {
	case n == 39 && !isResponse(mti):
		// In a request (a reversal) field 39 is why it was sent.
		return iso.ReversalReasonMeaning(v)
	}
	switch n {
	case 3:
		return iso.ProcessingMeaning(v)
	case 22:
		return iso.EntryModeMeaning(v)
	case 39:
		return iso.ResponseText(v)
	case 70:
		return iso.NetworkMeaning(v)
	}
	return ""
}
