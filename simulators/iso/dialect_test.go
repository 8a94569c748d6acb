package iso

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustDialect(t testing.TB, name string) *Dialect {
	t.Helper()
	d, err := LoadDialect(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// frameOf packs v in d and frames it with env (the dialect's own when empty).
func frameOf(t testing.TB, d *Dialect, v any, env Envelope) []byte {
	t.Helper()
	m, err := NewMessage(v)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = d.Convert(m); err != nil {
		t.Fatal(err)
	}
	packed, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	frame, err := d.AppendFrame(nil, env, packed)
	if err != nil {
		t.Fatal(err)
	}
	return frame
}

func TestDialectRoundTrip(t *testing.T) {
	sale := sampleSale()
	sale.PAN, sale.Track2 = "6222021234567890123", "6222021234567890123=30121010000000000"
	settle := Reconcile{MTI: MTIReconcile, TransmissionDT: "1125120000", STAN: "000009", TerminalID: "TERM0001",
		MerchantID: "123456789012345", Currency: "156", Batch: "000001", CreditsNumber: 3, CreditsAmount: 12345}
	signOn := Network{MTI: MTINetworkResponse, STAN: "000002", ResponseCode: "00", TerminalID: "TERM0001",
		KeyData: "0123456789ABCDEF0123456789ABCDEF123456", NetworkCode: NetSignOn, Reserved60: "2.1.0"}
	for _, name := range BuiltinDialects() {
		d := mustDialect(t, name)
		for _, v := range []any{&sale, &settle, &signOn} {
			frame := frameOf(t, d, v, Envelope{})
			env, body, off, err := d.ReadFrame(bufio.NewReader(bytes.NewReader(frame)))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(env.TPDU, d.Framing.TPDU) || !bytes.Equal(env.Header, d.Framing.Header) || off+len(body) != len(frame) {
				t.Errorf("%s: envelope % x | % x, offset %d", name, env.TPDU, env.Header, off)
			}
			m, err := d.Unpack(body, off)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := newOf(v)
			if err := Decode(m, got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(v, got); diff != "" {
				t.Errorf("%s: round trip (-sent +read):\n%s", name, diff)
			}
		}
	}
}

func newOf(v any) any {
	switch v.(type) {
	case *Financial:
		return &Financial{}
	case *Reconcile:
		return &Reconcile{}
	}
	return &Network{}
}

// TestPossim87Unchanged: the default dialect puts the very bytes of the
// old framing on the wire, and reads the recorded wire cases.
func TestPossim87Unchanged(t *testing.T) {
	d := mustDialect(t, "possim87")
	sale := sampleSale()
	m, _ := NewMessage(&sale)
	packed, _ := m.Pack()
	got, err := d.AppendFrame(nil, Envelope{}, packed)
	if err != nil || !bytes.Equal(got, Frame(packed)) {
		t.Fatalf("possim87 frame % x, want % x (%v)", got, Frame(packed), err)
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "wire-*.bin"))
	if len(seeds) == 0 {
		t.Fatal("no recorded wire cases")
	}
	for _, s := range seeds {
		raw, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		// The recorded cases are whole frames, length header included.
		_, body, off, err := d.ReadFrame(bytes.NewReader(raw))
		if err != nil || off != 2 || !bytes.Equal(Frame(body), raw) {
			t.Fatalf("%s: %v", s, err)
		}
		if _, err := d.Unpack(body, off); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestTPDUReplySwaps(t *testing.T) {
	env := Envelope{TPDU: []byte{0x60, 0x00, 0x03, 0x12, 0x34}, Header: []byte{0x60, 0x22, 0, 0, 0, 0}}
	r := env.Reply()
	if !bytes.Equal(r.TPDU, []byte{0x60, 0x12, 0x34, 0x00, 0x03}) || !bytes.Equal(r.Header, env.Header) {
		t.Fatalf("reply envelope % x | % x", r.TPDU, r.Header)
	}
	d := mustDialect(t, "cup")
	sale := sampleSale()
	frame := frameOf(t, d, &sale, r)
	if !bytes.Equal(frame[2:7], r.TPDU) {
		t.Errorf("framed TPDU % x, want % x", frame[2:7], r.TPDU)
	}
}

// TestDialectBadInput: input that does not fit the dialect is a
// FrameError naming the dialect, the byte offset and, for a field, which.
func TestDialectBadInput(t *testing.T) {
	sale := sampleSale()
	nac, cup := mustDialect(t, "nac"), mustDialect(t, "cup")
	good := frameOf(t, nac, &sale, Envelope{})
	goodCup := frameOf(t, cup, &sale, Envelope{})
	// nac: 2 length, 5 TPDU, MTI at 7, bitmap at 9..16, field 2 (LL) at 17.
	edit := func(frame []byte, f func(b []byte)) []byte {
		b := bytes.Clone(frame)
		f(b)
		return b
	}
	cases := []struct {
		name   string
		d      *Dialect
		frame  []byte
		offset int
		field  int
		want   string
	}{
		{"TPDU ID", nac, edit(good, func(b []byte) { b[2] = 0x61 }), 2, -1, "TPDU ID 61"},
		{"UnionPay header version", cup, edit(goodCup, func(b []byte) { b[8] = 0x31 }), 7, -1, "type and version 60 31"},
		{"header nibble", cup, edit(goodCup, func(b []byte) { b[10] = 0x0a }), 7, -1, "nibble above 9"},
		{"MTI nibble", nac, edit(good, func(b []byte) { b[7] = 0x0a }), 7, 0, "nibble A above 9"},
		{"PAN nibble", nac, edit(good, func(b []byte) { b[18] = 0x4c }), 17, 2, "nibble C above 9"},
		{"odd-length pad", nac, edit(good, func(b []byte) { b[27] = 0x50 }), 26, 3, "pad nibble"},
		{"bitmap claims absent fields", nac, edit(good, func(b []byte) { b[16] |= 0x03 }), 100, -2, ""},
		{"BCD length header", &Dialect{Name: "bcd2", Spec: SpecNAC, Framing: Framing{Length: LengthBCD2, MaxFrame: 4096}},
			[]byte{0x00, 0x1a, 0x02, 0x00}, 0, -1, "nibble above 9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "odd-length pad" {
				// field 3 is n6 (even); make it the odd field 22 instead:
				// find 22's offset by packing, not by hand.
				c.frame, c.offset, c.field = oddPad(t, nac, &sale)
			}
			_, body, off, err := c.d.ReadFrame(bytes.NewReader(c.frame))
			if err == nil {
				_, err = c.d.Unpack(body, off)
			}
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err %v, want a FrameError", err)
			}
			if !strings.HasPrefix(err.Error(), c.d.Name+": ") || !errors.Is(err, ErrFormat) {
				t.Errorf("%q does not name the dialect %s or is not a format error", err, c.d.Name)
			}
			if c.field == -2 { // somewhere in the fields, past the bitmap
				if fe.Field < 2 || fe.Offset <= 16 {
					t.Errorf("field %d at %d: want a field past the bitmap", fe.Field, fe.Offset)
				}
				return
			}
			t.Log(err)
			if fe.Offset != c.offset || fe.Field != c.field || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %q (field %d, offset %d); want field %d at byte %d saying %q", err, fe.Field, fe.Offset, c.field, c.offset, c.want)
			}
		})
	}
}

// oddPad returns a nac frame whose field 22 (n3, packed in 2 bytes with a
// leading 0 nibble) has a non-zero pad nibble, with the field's offset.
func oddPad(t *testing.T, d *Dialect, v *Financial) ([]byte, int, int) {
	t.Helper()
	frame := frameOf(t, d, v, Envelope{})
	cut := *v
	cut.EntryMode, cut.CardSeq, cut.ConditionCode, cut.Track2, cut.RRN, cut.AuthCode, cut.ResponseCode = "", "", "", "", "", "", ""
	cut.TerminalID, cut.MerchantID, cut.AdditionalData, cut.Currency, cut.PINBlock, cut.AdditionalAmts, cut.ICC = "", "", "", "", nil, "", nil
	cut.Reserved60, cut.Private62, cut.Private63, cut.OriginalData, cut.ReplacementAmts = "", "", "", "", ""
	m, _ := NewMessage(&cut)
	m, _ = d.Convert(m)
	p, _ := m.Pack()
	at := d.Framing.Offset() + len(p) // field 22 follows the last field of cut
	if frame[at]>>4 != 0 {
		t.Fatalf("field 22 at %d starts % x, want a 0 pad nibble", at, frame[at:at+2])
	}
	frame[at] |= 0x50
	return frame, at, 22
}

func TestParseDialectErrors(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"unknown key", "spec: nac\nlength: binary2\ntpdux: \"6000010000\"\n", "d.yaml:3: unknown key \"tpdux\""},
		{"no spec", "length: binary2\n", "d.yaml:1: no spec"},
		{"no length", "spec: nac\n", "d.yaml:1: no length"},
		{"bad length", "spec: nac\nlength: binary4\n", "d.yaml:2: length \"binary4\"; valid: none, binary2, bcd2, ascii4"},
		{"short TPDU", "spec: nac\nlength: binary2\ntpdu: \"600001\"\n", "d.yaml:3: tpdu \"600001\": give 5 bytes"},
		{"TPDU ID", "spec: nac\nlength: binary2\ntpdu: \"7000010000\"\n", "d.yaml:3: tpdu \"7000010000\": the ID byte is 70"},
		{"two headers", "spec: nac\nlength: binary2\nheader: \"0102\"\nunionpay_header:\n  application_type: \"60\"\n  version: \"22\"\n",
			"d.yaml:5: header and unionpay_header both given"},
		{"unionpay key", "spec: nac\nlength: binary2\nunionpay_header:\n  application_type: \"60\"\n  versoin: \"22\"\n", "d.yaml:5: unknown key \"versoin\" in unionpay_header"},
		{"unionpay version", "spec: nac\nlength: binary2\nunionpay_header:\n  application_type: \"60\"\n  version: \"2\"\n", "d.yaml:4: unionpay_header version \"2\""},
		{"counts itself without length", "spec: nac\nlength: none\nlength_counts_itself: true\n", "d.yaml:3: length_counts_itself with length none"},
		{"max frame too big", "spec: nac\nlength: bcd2\nmax_frame: 20000\n", "d.yaml:3: max_frame 20000 is more than the bcd2 length header can announce"},
		{"unknown spec", "spec: nosuch\nlength: binary2\n", "d.yaml:1: unknown spec \"nosuch\""},
		{"yaml error", "spec: [nac\n", "d.yaml: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDialect([]byte(c.file), "d.yaml", "")
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("err %v, want %q...", err, c.want)
			}
		})
	}
	if _, err := LoadDialect("nosuch"); err == nil || !strings.Contains(err.Error(), "possim87, ascii4, nac, cup") {
		t.Errorf("unknown dialect: %v", err)
	}
}

// TestDialectFileSpecPath: a dialect file may name a moov spec file,
// relative to itself.
func TestDialectFileSpecPath(t *testing.T) {
	dir := t.TempDir()
	js := `{"name":"tiny","fields":{"0":{"type":"String","length":4,"enc":"ASCII","prefix":"ASCII.Fixed"},"1":{"type":"Bitmap","length":8,"enc":"HexToASCII","prefix":"Hex.Fixed"},"11":{"type":"String","length":6,"enc":"ASCII","prefix":"ASCII.Fixed"}}}`
	if err := os.WriteFile(filepath.Join(dir, "tiny.json"), []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "d.yaml")
	if err := os.WriteFile(path, []byte("name: tiny4\nspec: tiny.json\nlength: ascii4\nlength_counts_itself: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := LoadDialect(path)
	if err != nil {
		t.Fatal(err)
	}
	m := d.NewMessage()
	m.MTI("0800")
	m.Field(11, "000001")
	packed, _ := m.Pack()
	frame, err := d.AppendFrame(nil, Envelope{}, packed)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(frame); string(frame[:4]) != fmt.Sprintf("%04d", n) {
		t.Errorf("ascii4 header %q for a %d-byte frame counting itself", frame[:4], n)
	}
	got, err := d.ReadMessage(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := got.GetString(11); s != "000001" {
		t.Errorf("field 11 %q", s)
	}
}

// TestLengthHeaders frames and reads back a message with every length
// header, counting itself or not, and checks the header bytes.
func TestLengthHeaders(t *testing.T) {
	body := []byte("0800" + "0020000000000000" + "000001") // MTI, bitmap (field 11), STAN
	cases := []struct {
		l      LengthHeader
		counts bool
		head   []byte
	}{
		{LengthBinary2, false, []byte{0x00, 0x1a}},
		{LengthBinary2, true, []byte{0x00, 0x1c}},
		{LengthBCD2, false, []byte{0x00, 0x26}},
		{LengthBCD2, true, []byte{0x00, 0x28}},
		{LengthASCII4, false, []byte("0026")},
		{LengthASCII4, true, []byte("0030")},
		{LengthNone, false, nil},
	}
	for _, c := range cases {
		d := &Dialect{Name: "t", Spec: Spec87, Framing: Framing{Length: c.l, CountsItself: c.counts, MaxFrame: 4096}}
		frame, err := d.AppendFrame(nil, Envelope{}, body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(frame, c.head) || len(frame) != len(c.head)+len(body) {
			t.Errorf("%s counts=%v: frame % x, want header % x", c.l, c.counts, frame, c.head)
		}
		if size, ok := d.FrameSize(frame); c.l != LengthNone && (!ok || size != len(frame)) {
			t.Errorf("%s counts=%v: FrameSize %d %v, want %d", c.l, c.counts, size, ok, len(frame))
		}
		m, err := d.ReadMessage(bytes.NewReader(frame))
		if err != nil {
			t.Fatalf("%s counts=%v: %v", c.l, c.counts, err)
		}
		if s, _ := m.GetString(11); s != "000001" {
			t.Errorf("%s: field 11 %q", c.l, s)
		}
	}
	// A length above the frame cap is refused before anything is read.
	d := &Dialect{Name: "t", Spec: Spec87, Framing: Framing{Length: LengthASCII4, MaxFrame: 100}}
	if _, _, _, err := d.ReadFrame(bytes.NewReader([]byte("0200xxxx"))); !errors.Is(err, ErrFrameTooLong) {
		t.Errorf("oversize ascii4 frame: %v", err)
	}
	if _, _, _, err := d.ReadFrame(bytes.NewReader([]byte("02x0"))); !errors.Is(err, ErrFormat) {
		t.Errorf("ascii4 header with a letter: %v", err)
	}
}

// TestPossim87Limit: the default dialect takes a message of up to
// MaxMessageLength bytes and refuses one byte more, as before dialects.
func TestPossim87Limit(t *testing.T) {
	for _, d := range []*Dialect{Possim87(), mustDialect(t, "possim87")} {
		ok := append([]byte{MaxMessageLength >> 8, MaxMessageLength & 0xff}, make([]byte, MaxMessageLength)...)
		if _, _, _, err := d.ReadFrame(bytes.NewReader(ok)); err != nil {
			t.Errorf("%d-byte message: %v", MaxMessageLength, err)
		}
		over := []byte{(MaxMessageLength + 1) >> 8, (MaxMessageLength + 1) & 0xff}
		if _, _, _, err := d.ReadFrame(bytes.NewReader(over)); !errors.Is(err, ErrFrameTooLong) {
			t.Errorf("%d-byte message: %v, want ErrFrameTooLong", MaxMessageLength+1, err)
		}
	}
}

// TestDialectJSON: a dialect file in JSON reads like its YAML, and its
// mistakes have lines too.
func TestDialectJSON(t *testing.T) {
	d, err := ParseDialect([]byte(`{"name": "j", "spec": "nac", "length": "bcd2", "tpdu": "6000070000"}`), "d.json", "")
	if err != nil || d.Framing.Length != LengthBCD2 || !bytes.Equal(d.Framing.TPDU, []byte{0x60, 0, 7, 0, 0}) {
		t.Fatalf("JSON dialect: %+v %v", d, err)
	}
	_, err = ParseDialect([]byte("{\n  \"spec\": \"nac\",\n  \"length\": \"bcd2\",\n  \"tpdu\": \"60\"\n}"), "d.json", "")
	if err == nil || !strings.HasPrefix(err.Error(), "d.json:4: tpdu") {
		t.Errorf("JSON mistake: %v, want d.json:4", err)
	}
}
