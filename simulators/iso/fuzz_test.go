package iso

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/moov-io/iso8583"
)

// FuzzReadAndUnpack runs the host's inbound path: the length header, then
// the possim87 unpack. Nothing may panic or allocate past the frame cap.
func FuzzReadAndUnpack(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.bin"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	sale := sampleSale()
	if m, err := NewMessage(&sale); err == nil {
		if p, err := m.Pack(); err == nil {
			f.Add(Frame(p))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			n, err := ReadLength(r)
			if err != nil {
				return
			}
			if n > MaxMessageLength {
				t.Fatalf("ReadLength let %d through", n)
			}
			raw := make([]byte, n)
			if _, err := r.Read(raw); err != nil {
				return
			}
			_ = iso8583.NewMessage(Spec87).Unpack(raw)
		}
	})
}

// FuzzParseSpec feeds the spec loader arbitrary JSON and YAML.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(`{"name":"x","fields":{"0":{"type":"String","length":4,"enc":"ASCII","prefix":"ASCII.Fixed"},"1":{"type":"Bitmap","length":8,"enc":"HexToASCII","prefix":"Hex.Fixed"}}}`), false)
	f.Add([]byte("name: x\nfields:\n  \"0\": {type: String, length: 4, enc: ASCII, prefix: ASCII.Fixed}\n"), true)
	f.Fuzz(func(t *testing.T, raw []byte, yaml bool) {
		name := "fuzz.json"
		if yaml {
			name = "fuzz.yaml"
		}
		_, _ = ParseSpec(raw, name)
	})
}
