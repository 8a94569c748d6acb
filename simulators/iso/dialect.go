package iso

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/moov-io/iso8583"
	iso8583errors "github.com/moov-io/iso8583/errors"
)

// Dialect is one wire: the message spec and the framing around it. The
// host, the terminal and the load generator work on typed messages; only
// a Dialect knows how they look on the wire.
type Dialect struct {
	Name    string
	Spec    *iso8583.MessageSpec
	Framing Framing
	// unionPay: Framing.Header is a UnionPay application header, of which
	// only the application type and version must match.
	unionPay bool
}

// Possim87 is the default dialect: the possim87 spec behind a 2-byte
// binary length header, nothing else.
func Possim87() *Dialect {
	return &Dialect{Name: "possim87", Spec: Spec87, Framing: Framing{Length: LengthBinary2, MaxFrame: MaxMessageLength + 2}}
}

// WithSpec is the possim87 framing around another spec (the --spec
// option of earlier versions).
func WithSpec(spec *iso8583.MessageSpec) *Dialect {
	d := Possim87()
	if spec != nil && spec != Spec87 {
		d.Spec = spec
		d.Name = "possim87+" + spec.Name
	}
	return d
}

// NewMessage is an empty message of the dialect's spec.
func (d *Dialect) NewMessage() *iso8583.Message { return iso8583.NewMessage(d.Spec) }

// Unpack unpacks a message; base is its offset in the frame, for errors.
// A message that does not unpack gives a *FrameError naming the field and
// the byte offset where it failed; the partly unpacked message comes back
// too, so a caller can still read its MTI and STAN to answer.
func (d *Dialect) Unpack(body []byte, base int) (*iso8583.Message, error) {
	m := iso8583.NewMessage(d.Spec)
	if err := safeUnpack(m, body); err != nil {
		return m, d.locate(m, err, base)
	}
	return m, nil
}

// Convert returns m in the dialect's spec: m itself when it is already,
// else a copy field by field (values, not encodings, carry over). Typed
// messages are built with NewMessage in possim87; this lets a caller send
// them in any dialect without knowing which.
func (d *Dialect) Convert(m *iso8583.Message) (*iso8583.Message, error) {
	if m.GetSpec() == d.Spec {
		return m, nil
	}
	out := iso8583.NewMessage(d.Spec)
	for id, f := range m.GetFields() {
		if id == 1 {
			continue
		}
		b, err := f.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%s: field %d: %w", d.Name, id, err)
		}
		if id == 0 {
			out.MTI(string(b))
			continue
		}
		if err := out.BinaryField(id, b); err != nil {
			return nil, fmt.Errorf("%s: field %d: %w", d.Name, id, err)
		}
	}
	return out, nil
}

// safeUnpack turns a panic in a field decoder into an error: a hostile
// frame must never take a process down.
func safeUnpack(m *iso8583.Message, raw []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unpacking: %v", r)
		}
	}()
	return m.Unpack(raw)
}

// locate turns an unpack error into a FrameError with the offset of the
// failing field: the sizes of the fields unpacked before it (still in m)
// add up to where it starts. Only the error path pays for this.
func (d *Dialect) locate(m *iso8583.Message, err error, base int) error {
	fe := &FrameError{Dialect: d.Name, Offset: base, Field: -1, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
	var ue *iso8583errors.UnpackError
	if !errors.As(err, &ue) {
		return fe
	}
	id, cerr := strconv.Atoi(ue.FieldID)
	if cerr != nil {
		return fe
	}
	fe.Field = id
	// The UnpackError stays in the chain: iso8583-connection reads on
	// after one, as the stream is still in step.
	fe.Err = fmt.Errorf("%w: %w", ErrFormat, err)
	fields := m.GetFields()
	ids := make([]int, 0, len(fields))
	for fid := range fields {
		if fid < id {
			ids = append(ids, fid)
		}
	}
	sort.Ints(ids)
	off := 0
	for _, fid := range ids {
		p, perr := safePack(fields[fid])
		if perr != nil {
			return fe
		}
		off += p
	}
	fe.Offset = base + off
	return fe
}

func safePack(f interface{ Pack() ([]byte, error) }) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("packing: %v", r)
		}
	}()
	b, err := f.Pack()
	return len(b), err
}

// Builtin dialect names, in the order docs/dialects.md lists them.
var builtinNames = []string{"possim87", "ascii4", "nac", "cup"}

// BuiltinDialects lists the names of the built-in dialects.
func BuiltinDialects() []string { return append([]string(nil), builtinNames...) }
