package proxy

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// throughFrames runs pipeFrames with h over data cut in chunks of size
// and returns what came out.
func throughFrames(data []byte, size int, h handler) []byte {
	return throughFramesIn(iso.Possim87(), data, size, h)
}

// throughFramesIn is throughFrames in dialect d.
func throughFramesIn(d *iso.Dialect, data []byte, size int, h handler) []byte {
	in := make(chan *stream.StreamChunk)
	outc := make(chan *stream.StreamChunk, 16)
	stub := toxics.NewToxicStub(in, outc)
	stub.State = newFrameState()
	go pipeFrames(stub, d, h)
	go func() {
		for len(data) > 0 {
			n := min(size, len(data))
			in <- &stream.StreamChunk{Data: append([]byte(nil), data[:n]...)}
			data = data[n:]
		}
		close(in)
	}()
	var got []byte
	for c := range outc {
		got = append(got, c.Data...)
	}
	return got
}

func packed(t testing.TB, v any) []byte {
	m, err := iso.NewMessage(v)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return iso.Frame(b)
}

func TestFramesPassThrough(t *testing.T) {
	sale := packed(t, &iso.Financial{MTI: "0200", PAN: visa, Amount: "000000000900", STAN: "000001", TerminalID: testTID})
	answer := packed(t, &iso.Financial{MTI: "0210", Amount: "000000000900", STAN: "000001", ResponseCode: "00", TerminalID: testTID})
	all := append(append([]byte(nil), sale...), answer...)
	var seen []string
	h := func(f *isoFrame) []out {
		mti, _ := f.msg.GetMTI()
		seen = append(seen, mti)
		return f.pass()
	}
	for _, size := range []int{1, 3, 7, len(all)} {
		seen = nil
		if got := throughFrames(all, size, h); !bytes.Equal(got, all) {
			t.Errorf("chunks of %d: bytes changed", size)
		}
		if len(seen) != 2 || seen[0] != "0200" || seen[1] != "0210" {
			t.Errorf("chunks of %d: handler saw %v", size, seen)
		}
	}
}

func TestMatchTakesCLINumbers(t *testing.T) {
	answer := packed(t, &iso.Financial{MTI: "0210", Amount: "000000000900", STAN: "000001", TerminalID: testTID})
	m := iso8583.NewMessage(iso.Spec87)
	if err := m.Unpack(answer[2:]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		attrs string
		hit   bool
	}{
		{`{"mti":"0210"}`, true},
		{`{"mti":210}`, true}, // toxiproxy-cli -a mti=0210
		{`{"mti":"0200"}`, false},
		{`{"match_field":4,"match_value":900}`, true},
		{`{"match_field":4,"match_value":"000000000900"}`, true},
		{`{"match_field":4,"match_value":"901"}`, false},
		{`{"match_field":39,"match_value":"00"}`, false}, // absent field
		{`{}`, true},
	} {
		var d DropToxic
		if err := json.Unmarshal([]byte(tc.attrs), &d); err != nil {
			t.Fatalf("%s: %v", tc.attrs, err)
		}
		if got := d.hit(m); got != tc.hit {
			t.Errorf("%s: hit %v, want %v", tc.attrs, got, tc.hit)
		}
	}
	var d DropToxic
	if err := json.Unmarshal([]byte(`{"mti":true}`), &d); err == nil {
		t.Errorf("mti true: no error")
	}
}

// FuzzFrames: whatever the bytes and however they are cut, an ISO toxic
// that passes every message delivers exactly the bytes it got.
func FuzzFrames(f *testing.F) {
	f.Add(packed(f, &iso.Financial{MTI: "0210", Amount: "000000000900", STAN: "000001"}), 5)
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"), 2)
	f.Add([]byte{0, 3, '0', '2', '1'}, 1)
	f.Add([]byte{0, 7, 0x60, 0, 1, 0, 0, 2, 0x10}, 3)
	var dialects []*iso.Dialect
	for _, name := range iso.BuiltinDialects() {
		d, err := iso.LoadDialect(name)
		if err != nil {
			f.Fatal(err)
		}
		dialects = append(dialects, d)
	}
	f.Fuzz(func(t *testing.T, data []byte, size int) {
		if size < 1 || size > 64 || len(data) == 0 {
			return
		}
		for _, d := range dialects {
			got := throughFramesIn(d, data, size, func(f *isoFrame) []out { return f.pass() })
			if !bytes.Equal(got, data) {
				t.Fatalf("%s: in %x, out %x", d.Name, data, got)
			}
		}
	})
}

// TestFramesDialect: in nac the toxics cut frames by the nac length, keep
// each frame's own TPDU when they rewrite it, rewrite field 4 in BCD, and
// spoil a binary bitmap so the receiver cannot unpack it.
func TestFramesDialect(t *testing.T) {
	d, err := iso.LoadDialect("nac")
	if err != nil {
		t.Fatal(err)
	}
	tpdu := []byte{0x60, 0x00, 0x00, 0x00, 0x07}
	frame := func(amount string) []byte {
		m := d.NewMessage()
		m.MTI("0210")
		for id, v := range map[int]string{4: amount, 11: "000001", 39: "00", 41: testTID} {
			if err := m.Field(id, v); err != nil {
				t.Fatal(err)
			}
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		f, err := d.AppendFrame(nil, iso.Envelope{TPDU: tpdu}, b)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	in, want := frame("000000000900"), frame("000000000001")
	for _, size := range []int{1, 5, len(in)} {
		got := throughFramesIn(d, in, size, func(f *isoFrame) []out {
			if err := f.msg.Field(4, "000000000001"); err != nil {
				t.Fatal(err)
			}
			return f.repack()
		})
		if !bytes.Equal(got, want) {
			t.Errorf("chunks of %d: rewritten frame\n% x\nwant\n% x", size, got, want)
		}
	}
	garbled := throughFramesIn(d, in, len(in), func(f *isoFrame) []out { return []out{{data: garbleBitmap(f)}} })
	if !bytes.Equal(garbled[:7], in[:7]) {
		t.Errorf("garble touched the length or TPDU: % x", garbled[:7])
	}
	if _, body, off, err := d.ReadFrame(bytes.NewReader(garbled)); err != nil {
		t.Fatal(err)
	} else if _, err := d.Unpack(body, off); err == nil {
		t.Errorf("garbled nac frame still unpacks: % x", garbled)
	}
}
