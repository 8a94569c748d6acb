package card

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTLV(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want []TLV
	}{
		{"empty", "", nil},
		{"one byte tag", "820218 00", []TLV{{0x82, []byte{0x18, 0x00}}}},
		{"two byte tags", "9F360200 07 5F3401 01", []TLV{{0x9F36, []byte{0, 7}}, {0x5F34, []byte{1}}}},
		{"three byte tag", "DF8101 02 0102", []TLV{{0xDF8101, []byte{1, 2}}}},
		{"empty value", "9F0300", []TLV{{0x9F03, []byte{}}}},
		{"81 length", "91 8102 AABB", []TLV{{0x91, []byte{0xAA, 0xBB}}}},
		{"82 length", "91 820002 AABB", []TLV{{0x91, []byte{0xAA, 0xBB}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseTLV(unhex(t, c.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
				t.Errorf("ParseTLV(%s) (-want +got):\n%s", c.in, diff)
			}
		})
	}
}

func TestParseTLVErrors(t *testing.T) {
	for _, c := range []struct {
		in     string
		offset int
	}{
		{"9F", 0},                 // tag runs past end
		{"9F02", 2},               // no length
		{"9F0206000000", 0},       // value runs past end
		{"9F0280", 2},             // indefinite length
		{"9F0284000000010000", 2}, // 4-byte length
		{"9F0282", 2},             // long length runs past end
		{"9F81818101", 0},         // 4-byte tag
		{"8200 9F", 2},            // second object truncated
	} {
		_, err := ParseTLV(unhex(t, c.in))
		var te *TLVError
		if !errors.As(err, &te) {
			t.Errorf("ParseTLV(%s) err = %v, want *TLVError", c.in, err)
			continue
		}
		if te.Offset != c.offset {
			t.Errorf("ParseTLV(%s) offset = %d, want %d (%v)", c.in, te.Offset, c.offset, err)
		}
	}
}

func TestEncodeTLVLengths(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535} {
		v := bytes.Repeat([]byte{0xAB}, n)
		enc := EncodeTLV(TLV{0x9F10, v})
		got, err := ParseTLV(enc)
		if err != nil || len(got) != 1 || got[0].Tag != 0x9F10 || !bytes.Equal(got[0].Value, v) {
			t.Errorf("length %d: round trip failed: %v", n, err)
		}
	}
	if v, ok := FindTag([]TLV{{0x95, []byte{1}}, {0x9F26, []byte{2}}}, 0x9F26); !ok || v[0] != 2 {
		t.Error("FindTag missed 9F26")
	}
	if _, ok := FindTag(nil, 0x9F26); ok {
		t.Error("FindTag found a tag in nothing")
	}
}

// seeds reads every file in testdata/dir, hex-decoding when hexed.
func seeds(f *testing.F, dir string, hexed bool) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/%s: %v", dir, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		s := strings.TrimSpace(string(b))
		if hexed {
			d, err := hex.DecodeString(s)
			if err != nil {
				f.Fatalf("%s: %v", p, err)
			}
			f.Add(d)
			continue
		}
		f.Add([]byte(s))
	}
}

func FuzzParseTLV(f *testing.F) {
	seeds(f, "tlv", true)
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := ParseTLV(b)
		if err != nil {
			var te *TLVError
			if !errors.As(err, &te) || te.Offset < 0 || te.Offset > len(b) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		// Re-encoding and parsing again gives the same objects.
		again, err := ParseTLV(EncodeTLV(items...))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(again) != len(items) {
			t.Fatalf("re-parse: %d items, want %d", len(again), len(items))
		}
		for i := range items {
			if again[i].Tag != items[i].Tag || !bytes.Equal(again[i].Value, items[i].Value) {
				t.Fatalf("item %d differs after round trip", i)
			}
		}
		_, _, _ = ParseICCData(b)
	})
}
