package iso

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/moov-io/iso8583"
	iso8583errors "github.com/moov-io/iso8583/errors"
)

// LengthHeader is how a frame announces its length.
type LengthHeader int

// The length headers a dialect can use.
const (
	LengthNone    LengthHeader = iota // no header: one message per read
	LengthBinary2                     // 2 bytes, binary big-endian (possim87, jPOS NACChannel)
	LengthBCD2                        // 2 bytes, BCD: 0x01 0x23 is 123
	LengthASCII4                      // 4 ASCII digits (jPOS ASCIIChannel)
)

var lengthNames = map[string]LengthHeader{"none": LengthNone, "binary2": LengthBinary2, "bcd2": LengthBCD2, "ascii4": LengthASCII4}

func (l LengthHeader) String() string {
	for n, v := range lengthNames {
		if v == l {
			return n
		}
	}
	return "length(" + strconv.Itoa(int(l)) + ")"
}

// size is the number of bytes of the header.
func (l LengthHeader) size() int {
	switch l {
	case LengthBinary2, LengthBCD2:
		return 2
	case LengthASCII4:
		return 4
	}
	return 0
}

// max is the largest length the header can carry.
func (l LengthHeader) max() int {
	switch l {
	case LengthBinary2:
		return 0xffff
	case LengthBCD2, LengthASCII4:
		return 9999
	}
	return 1 << 30
}

// TPDULen is the size of a TPDU: ID, destination (2), source (2).
const TPDULen = 5

// TPDUID is the first byte of a TPDU on every network possim knows.
const TPDUID = 0x60

// Framing is how messages of a dialect travel on a stream: a length
// header, an optional TPDU and an optional fixed application header in
// front of the packed message.
type Framing struct {
	Length       LengthHeader
	CountsItself bool   // the length includes the header's own bytes
	TPDU         []byte // TPDULen bytes the terminal sends; nil: no TPDU
	Header       []byte // fixed application header; nil: none
	MaxFrame     int    // largest frame, headers included
}

// Envelope is what travels in front of one message: its TPDU and
// application header as received, so the answer can be addressed back.
type Envelope struct {
	TPDU   []byte
	Header []byte
}

// Reply is the envelope of the answer: the TPDU with destination and
// source swapped, as hosts answer; the application header repeated.
func (e Envelope) Reply() Envelope {
	r := Envelope{Header: e.Header}
	if len(e.TPDU) == TPDULen {
		r.TPDU = []byte{e.TPDU[0], e.TPDU[3], e.TPDU[4], e.TPDU[1], e.TPDU[2]}
	}
	return r
}

// prefixLen is the bytes before the message: length header, TPDU, header.
func (f *Framing) prefixLen() int {
	return f.Length.size() + len(f.TPDU) + len(f.Header)
}

// FrameError is a frame or message that does not fit its dialect: where
// (byte offset in the frame, length header included) and what.
type FrameError struct {
	Dialect string
	Offset  int
	Field   int // the field that failed, or -1
	Err     error
}

func (e *FrameError) Error() string {
	where := "byte " + strconv.Itoa(e.Offset)
	if e.Field >= 0 {
		where = "field " + strconv.Itoa(e.Field) + " at " + where
	}
	return fmt.Sprintf("%s: %s: %v", e.Dialect, where, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

// ErrFormat marks input that does not fit the dialect.
var ErrFormat = errors.New("format error")

// readLength reads the length header and returns the length of what
// follows it.
func (d *Dialect) readLength(r io.Reader) (int, error) {
	f := &d.Framing
	var n int
	switch f.Length {
	case LengthBinary2:
		v, err := readHeader(r)
		if err != nil {
			return 0, err
		}
		n = v
	case LengthBCD2, LengthASCII4:
		var b [4]byte
		h := b[:f.Length.size()]
		if _, err := io.ReadFull(r, h); err != nil {
			return 0, fmt.Errorf("reading length header: %w", err)
		}
		v, err := f.Length.decode(h)
		if err != nil {
			return 0, &FrameError{Dialect: d.Name, Offset: 0, Field: -1, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
		}
		n = v
	}
	if f.CountsItself {
		if n < f.Length.size() {
			return 0, &FrameError{Dialect: d.Name, Field: -1, Err: fmt.Errorf("%w: length %d is shorter than its own header", ErrFormat, n)}
		}
		n -= f.Length.size()
	}
	if n > f.MaxFrame-f.Length.size() {
		return 0, fmt.Errorf("length header says %d bytes (limit %d): %w", n, f.MaxFrame-f.Length.size(), ErrFrameTooLong)
	}
	if n == 0 {
		return 0, ErrEmptyFrame
	}
	return n, nil
}

// decode reads a BCD or ASCII length header.
func (l LengthHeader) decode(h []byte) (int, error) {
	n := 0
	switch l {
	case LengthBCD2:
		for _, b := range h {
			hi, lo := b>>4, b&0x0f
			if hi > 9 || lo > 9 {
				return 0, fmt.Errorf("BCD length header % x has a nibble above 9", h)
			}
			n = n*100 + int(hi)*10 + int(lo)
		}
	case LengthASCII4:
		for _, c := range h {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("ASCII length header %q is not 4 digits", h)
			}
			n = n*10 + int(c-'0')
		}
	}
	return n, nil
}

// appendLength appends the header for a frame of n bytes after it.
func (l LengthHeader) appendLength(dst []byte, n int, countsItself bool) ([]byte, error) {
	if countsItself {
		n += l.size()
	}
	if n > l.max() {
		return nil, fmt.Errorf("frame of %d bytes does not fit the %s length header", n, l)
	}
	switch l {
	case LengthBinary2:
		return append(dst, byte(n>>8), byte(n)), nil
	case LengthBCD2:
		return append(dst, byte(n/1000)<<4|byte(n/100%10), byte(n/10%10)<<4|byte(n%10)), nil
	case LengthASCII4:
		return append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10)), nil
	}
	return dst, nil
}

// ReadFrame reads one frame and checks its TPDU and application header.
// It returns the envelope, the packed message, and the offset of the
// message in the frame (for error positions).
func (d *Dialect) ReadFrame(r io.Reader) (Envelope, []byte, int, error) {
	f := &d.Framing
	var raw []byte
	if f.Length == LengthNone {
		// Without a length header a message is what one read returns, as
		// hosts without framing assume one message per TCP segment.
		buf := make([]byte, f.MaxFrame)
		n, err := r.Read(buf)
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return Envelope{}, nil, 0, fmt.Errorf("reading frame: %w", err)
		}
		raw = buf[:n]
	} else {
		n, err := d.readLength(r)
		if err != nil {
			return Envelope{}, nil, 0, err
		}
		raw = make([]byte, n)
		if _, err := io.ReadFull(r, raw); err != nil {
			return Envelope{}, nil, 0, fmt.Errorf("reading %d-byte frame: %w", n, err)
		}
	}
	// A TPDU or header that does not fit still leaves the stream in step
	// (the length said where the frame ends): the message comes back
	// with the error, so the caller can answer it and read on.
	env, err := d.envelope(raw)
	skip := len(f.TPDU) + len(f.Header)
	if skip >= len(raw) {
		return env, nil, 0, err
	}
	return env, raw[skip:], f.Length.size() + skip, err
}

// envelope checks and slices the TPDU and header at the start of raw
// (the frame after its length header).
func (d *Dialect) envelope(raw []byte) (Envelope, error) {
	f := &d.Framing
	base := f.Length.size()
	var env Envelope
	if len(raw) < len(f.TPDU)+len(f.Header)+1 {
		return env, &FrameError{Dialect: d.Name, Offset: base, Field: -1,
			Err: fmt.Errorf("%w: %d bytes cannot hold the %d-byte TPDU and header and a message", ErrFormat, len(raw), len(f.TPDU)+len(f.Header))}
	}
	var bad error
	if len(f.TPDU) > 0 {
		env.TPDU = raw[:TPDULen:TPDULen]
		if raw[0] != f.TPDU[0] {
			bad = &FrameError{Dialect: d.Name, Offset: base, Field: -1,
				Err: fmt.Errorf("%w: TPDU ID %02x, want %02x", ErrFormat, raw[0], f.TPDU[0])}
		}
		raw = raw[TPDULen:]
		base += TPDULen
	}
	if n := len(f.Header); n > 0 {
		env.Header = raw[:n:n]
		if err := d.checkHeader(env.Header); err != nil && bad == nil {
			bad = &FrameError{Dialect: d.Name, Offset: base, Field: -1, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
		}
	}
	return env, bad
}

// checkHeader accepts an application header of the configured kind: for
// a UnionPay header the application type and version must match (terminal
// status and processing requirement vary per message); a plain fixed
// header must match byte for byte.
func (d *Dialect) checkHeader(h []byte) error {
	want := d.Framing.Header
	if d.unionPay {
		if h[0] != want[0] || h[1] != want[1] {
			return fmt.Errorf("application header % x: type and version %02x %02x, want %02x %02x", h, h[0], h[1], want[0], want[1])
		}
		for i, b := range h {
			if b>>4 > 9 || b&0x0f > 9 {
				return fmt.Errorf("application header % x: byte %d has a BCD nibble above 9", h, i)
			}
		}
		return nil
	}
	for i := range want {
		if h[i] != want[i] {
			return fmt.Errorf("application header % x, want % x", h, want)
		}
	}
	return nil
}

// AppendFrame appends the framed message to dst: length header, the
// envelope's TPDU and header (the dialect's own when env has none), then
// the packed message.
func (d *Dialect) AppendFrame(dst []byte, env Envelope, packed []byte) ([]byte, error) {
	f := &d.Framing
	tpdu, hdr := env.TPDU, env.Header
	if tpdu == nil {
		tpdu = f.TPDU
	}
	if hdr == nil {
		hdr = f.Header
	}
	n := len(tpdu) + len(hdr) + len(packed)
	if n+f.Length.size() > f.MaxFrame {
		return nil, fmt.Errorf("%s: frame of %d bytes above the limit of %d", d.Name, n+f.Length.size(), f.MaxFrame)
	}
	// One allocation for the whole frame, as the host writes one per answer.
	dst = slices.Grow(dst, f.Length.size()+n)
	dst, err := f.Length.appendLength(dst, n, f.CountsItself)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	dst = append(dst, tpdu...)
	dst = append(dst, hdr...)
	return append(dst, packed...), nil
}

// FrameSize is the whole size of the frame that starts with b, if b holds
// its length header; ok is false when it cannot be told yet (or ever,
// without a length header).
func (d *Dialect) FrameSize(b []byte) (size int, ok bool) {
	l := d.Framing.Length
	if l == LengthNone || len(b) < l.size() {
		return 0, false
	}
	var n int
	if l == LengthBinary2 {
		n = int(b[0])<<8 | int(b[1])
	} else {
		v, err := l.decode(b[:l.size()])
		if err != nil {
			return 0, false
		}
		n = v
	}
	if !d.Framing.CountsItself {
		n += l.size()
	}
	return n, true
}

// ReadMessage reads, checks and unpacks one frame: the shape of
// iso8583-connection's MessageReader, for clients that do not need the
// envelope.
func (d *Dialect) ReadMessage(r io.Reader) (*iso8583.Message, error) {
	_, body, off, err := d.ReadFrame(r)
	if err != nil {
		var fe *FrameError
		if body != nil && errors.As(err, &fe) {
			// The frame was read whole: the stream is in step, and
			// iso8583-connection reads on after an UnpackError.
			return nil, &iso8583errors.UnpackError{Err: err, FieldID: "envelope", RawMessage: body}
		}
		return nil, err
	}
	m, err := d.Unpack(body, off)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// WriteMessage packs and frames m with the dialect's own TPDU and header:
// iso8583-connection's MessageWriter.
func (d *Dialect) WriteMessage(w io.Writer, m *iso8583.Message) error {
	m, err := d.Convert(m)
	if err != nil {
		return err
	}
	packed, err := m.Pack()
	if err != nil {
		return fmt.Errorf("packing: %w", err)
	}
	frame, err := d.AppendFrame(make([]byte, 0, d.Framing.prefixLen()+len(packed)), Envelope{}, packed)
	if err != nil {
		return err
	}
	_, err = w.Write(frame)
	return err
}

// Offset is where the message starts in a frame: after the length
// header, the TPDU and the application header.
func (f *Framing) Offset() int { return f.prefixLen() }

// Fit is env made to fit the dialect: a TPDU ID or application header
// that did not fit is replaced by the dialect's own, so the answer to a
// frame refused for its envelope is one the sender can read.
func (d *Dialect) Fit(env Envelope) Envelope {
	f := &d.Framing
	out := env
	if len(f.TPDU) > 0 && len(env.TPDU) == TPDULen && env.TPDU[0] != f.TPDU[0] {
		out.TPDU = append([]byte{f.TPDU[0]}, env.TPDU[1:]...)
	}
	if len(f.Header) > 0 && d.checkHeader(env.Header) != nil {
		out.Header = f.Header
	}
	return out
}
