package trace

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// wire is the dialect a trace is read in: d, or possim87 when nil.
func wire(d *iso.Dialect) *iso.Dialect {
	if d == nil {
		return iso.Possim87()
	}
	return d
}

// headLen is how much of a malformed frame is shown: enough to see the
// MTI and the start of the bitmap, too little for a PAN after them.
const headLen = 16

// lengthSize is the size of a length header of kind l.
func lengthSize(l iso.LengthHeader) int {
	switch l {
	case iso.LengthBinary2, iso.LengthBCD2:
		return 2
	case iso.LengthASCII4:
		return 4
	}
	return 0
}

// frameSize reads the length header at the start of b (which holds at
// least lengthSize bytes): the size of the whole frame, header included,
// or an error saying why it is no frame.
func frameSize(d *iso.Dialect, b []byte) (int, error) {
	hs := lengthSize(d.Framing.Length)
	n, ok := d.FrameSize(b)
	switch {
	case !ok:
		return 0, fmt.Errorf("length header % x is not a %s length: not a %s frame", b[:hs], d.Framing.Length, d.Name)
	case n <= hs:
		return 0, errors.New("length header says 0 bytes")
	case n > d.Framing.MaxFrame:
		return 0, fmt.Errorf("length header says %d bytes (limit %d): not an ISO 8583 frame", n-hs, d.Framing.MaxFrame-hs)
	}
	return n, nil
}

// decodeFrame decodes one whole frame (length header included, when the
// dialect has one): its TPDU and application header, then the message.
func decodeFrame(d *iso.Dialect, m *Message, frame []byte) {
	env, body, off, err := d.ReadFrame(bytes.NewReader(frame))
	if body == nil {
		why := "empty frame"
		if err != nil {
			why = err.Error()
		}
		malformed(m, frame, why)
		return
	}
	m.TPDU = bytes.Clone(env.TPDU)
	m.AppHeader = bytes.Clone(env.Header)
	if err != nil {
		// The envelope did not fit; the message after it may still read,
		// and a host would have answered it with its own TPDU ID.
		m.Note = err.Error()
	}
	decode(d, m, body, off)
}

// decodeLine decodes a frame without its length header (a hex dump line
// that leaves it out): TPDU and application header, then the message.
func decodeLine(d *iso.Dialect, m *Message, raw []byte) {
	bare := *d
	bare.Framing.Length = iso.LengthNone
	bare.Framing.CountsItself = false
	bare.Framing.MaxFrame = len(raw) + 1
	decodeFrame(&bare, m, raw)
}

// decode unpacks one message body into m; off is where it starts in its
// frame, for errors. A body that does not unpack makes m malformed with
// its length and first bytes.
func decode(d *iso.Dialect, m *Message, body []byte, off int) {
	m.Kind = KindISO
	msg, err := d.Unpack(body, off)
	if err != nil {
		malformed(m, body, err.Error())
		return
	}
	m.MTI, _ = msg.GetMTI()
	m.raw = append([]byte(nil), body...)
	m.Fields = fieldsOf(d, m.MTI, iso.MaskFields(msg))
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
func fieldsOf(d *iso.Dialect, mti string, values map[string]string) []Field {
	out := make([]Field, 0, len(values))
	for k, v := range values {
		n, err := strconv.Atoi(k)
		if err != nil || n <= 1 {
			continue
		}
		out = append(out, Field{Num: n, Name: fieldName(d, n), Value: v, Meaning: iso.CodeMeaning(mti, n, v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Num < out[j].Num })
	return out
}

// fieldName is what the dialect's spec calls field n.
func fieldName(d *iso.Dialect, n int) string { return iso.SpecFieldName(d.Spec, n) }
