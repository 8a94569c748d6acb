package iso

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

// FuzzDialectFrames runs every built-in dialect's framer and codec over
// the same bytes, as the host reads them: frames until an error, each
// either unpacked or refused with a FrameError that points inside the
// frame. Seeds are each dialect's sale, framed.
func FuzzDialectFrames(f *testing.F) {
	sale := sampleSale()
	sale.Track2 = "4761739001010010=30121010000000000"
	var dialects []*Dialect
	for _, name := range BuiltinDialects() {
		d := mustDialect(f, name)
		dialects = append(dialects, d)
		f.Add(frameOf(f, d, &sale, Envelope{}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range dialects {
			r := bufio.NewReader(bytes.NewReader(data))
			for {
				_, body, off, err := d.ReadFrame(r)
				if err != nil && body == nil {
					break
				}
				if off+len(body) > d.Framing.MaxFrame {
					t.Fatalf("%s: frame of %d bytes past the %d cap", d.Name, off+len(body), d.Framing.MaxFrame)
				}
				m, err := d.Unpack(body, off)
				if err != nil {
					var fe *FrameError
					if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > off+len(body) {
						t.Fatalf("%s: error %v without a position inside the frame", d.Name, err)
					}
					continue
				}
				// What unpacked packs again in the same dialect.
				if _, err := m.Pack(); err != nil {
					t.Fatalf("%s: unpacked message does not pack: %v", d.Name, err)
				}
			}
		}
	})
}

// FuzzParseDialect feeds the dialect file parser arbitrary YAML.
func FuzzParseDialect(f *testing.F) {
	for _, name := range BuiltinDialects() {
		raw, err := builtinFiles.ReadFile("dialects/" + name + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := ParseDialect(raw, "fuzz.yaml", "")
		if err == nil && (d.Spec == nil || d.Framing.MaxFrame <= 0) {
			t.Fatalf("accepted an incomplete dialect: %+v", d)
		}
	})
}
