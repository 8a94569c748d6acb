package serial

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

type stream struct {
	name string
	data []byte
}

// readStreams loads testdata/streams.txt: the decoder's table cases and fuzz seeds.
func readStreams(tb testing.TB) []stream {
	tb.Helper()
	f, err := os.Open("testdata/streams.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []stream
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		name, h, ok := strings.Cut(t, " ")
		b, err := hex.DecodeString(h)
		if !ok || err != nil {
			tb.Fatalf("testdata/streams.txt:%d: want \"name hex\": %v", line, err)
		}
		out = append(out, stream{name, b})
	}
	return out
}

// describe renders the events of a stream, one per line.
func describe(b []byte, max int) string {
	d := Decoder{MaxFrame: max}
	var sb strings.Builder
	for _, c := range b {
		ev := d.Feed(c)
		switch ev.Kind {
		case EventNone:
		case EventFrame, EventBadLRC, EventTruncated:
			fmt.Fprintf(&sb, "%s %q\n", ev.Kind, ev.Data)
		default:
			fmt.Fprintf(&sb, "%s 0x%02X\n", ev.Kind, ev.Byte)
		}
	}
	if d.InFrame() {
		sb.WriteString("(in frame)\n")
	}
	return sb.String()
}

func TestDecoderGolden(t *testing.T) {
	var sb strings.Builder
	for _, s := range readStreams(t) {
		fmt.Fprintf(&sb, "== %s\n%s", s.name, describe(s.data, 32))
	}
	got := sb.String()
	const golden = "testdata/streams.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("decoder events differ from %s (run with -update after checking):\n%s", golden, got)
	}
}

func TestEncodeDecodeFrame(t *testing.T) {
	tests := []struct {
		name    string
		frame   []byte
		want    []byte
		wantErr error
	}{
		{"good", EncodeFrame([]byte("PING")), []byte("PING"), nil},
		{"empty", EncodeFrame(nil), []byte{}, nil},
		{"cr and high bytes", EncodeFrame([]byte{0x0D, 0xFF, 0x06}), []byte{0x0D, 0xFF, 0x06}, nil},
		{"bad lrc", []byte{STX, 'A', ETX, 0x00}, nil, ErrBadLRC},
		{"too short", []byte{STX, ETX}, nil, ErrMalformed},
		{"no stx", []byte{'A', 'B', ETX, 0x00}, nil, ErrMalformed},
		{"no etx", []byte{STX, 'A', 'B', 0x00}, nil, ErrMalformed},
		{"stx inside", []byte{STX, 'A', STX, 'B', ETX, 0x00}, nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFrame(tt.frame)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeFrame(% X) error = %v, want %v", tt.frame, err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(got, tt.want) {
				t.Errorf("DecodeFrame(% X) = % X, want % X", tt.frame, got, tt.want)
			}
		})
	}
}

func TestLRCMatchesDesign(t *testing.T) {
	// docs/devices.md, part 1: LRC = XOR of the bytes after STX up to and including ETX.
	f := EncodeFrame([]byte("AB"))
	if want := byte('A' ^ 'B' ^ ETX); f[len(f)-1] != want {
		t.Errorf("LRC of \"AB\" = 0x%02X, want 0x%02X", f[len(f)-1], want)
	}
	if got := LRC(f[1 : len(f)-1]); got != f[len(f)-1] {
		t.Errorf("LRC(data+ETX) = 0x%02X, frame carries 0x%02X", got, f[len(f)-1])
	}
}

// FuzzDecoder checks that no input panics the decoder, that every frame it
// reports is a real frame of the input, and that DecodeFrame agrees.
func FuzzDecoder(f *testing.F) {
	for _, s := range readStreams(f) {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := Decoder{MaxFrame: 64}
		for _, c := range in {
			ev := d.Feed(c)
			if ev.Kind != EventFrame {
				continue
			}
			if len(ev.Data) > 64 {
				t.Fatalf("frame of %d bytes exceeds MaxFrame 64", len(ev.Data))
			}
			enc := EncodeFrame(ev.Data)
			if !bytes.Contains(in, enc) {
				t.Fatalf("reported frame % X is not in the input", enc)
			}
			if got, err := DecodeFrame(enc); err != nil || !bytes.Equal(got, ev.Data) {
				t.Fatalf("DecodeFrame(% X) = % X, %v", enc, got, err)
			}
		}
		// DecodeFrame never panics, and what it accepts round-trips.
		if data, err := DecodeFrame(in); err == nil && !bytes.Equal(EncodeFrame(data), in) {
			t.Fatalf("DecodeFrame accepted % X but re-encodes to % X", in, EncodeFrame(data))
		}
	})
}

func BenchmarkDecoder(b *testing.B) {
	frame := EncodeFrame(bytes.Repeat([]byte("0123456789"), 20))
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	var d Decoder
	for b.Loop() {
		for _, c := range frame {
			d.Feed(c)
		}
	}
}

// TestDecoderNeverDeaf: the frame codec has no length header, so no
// header can make it wait for data. A frame that never ends (1 MiB with no
// ETX) holds at most MaxFrame bytes, and the next STX starts a frame that
// is decoded as usual.
func TestDecoderNeverDeaf(t *testing.T) {
	var d Decoder
	d.Feed(STX)
	for range 1 << 20 {
		if ev := d.Feed('x'); ev.Kind != EventNone && ev.Kind != EventOversize {
			t.Fatalf("endless frame gave %v", ev.Kind)
		}
	}
	if cap(d.buf) > DefaultMaxFrame+1 {
		t.Errorf("decoder holds %d bytes for an endless frame", cap(d.buf))
	}
	var got []Event
	for _, c := range EncodeFrame([]byte("STATUS")) {
		if ev := d.Feed(c); ev.Kind != EventNone {
			got = append(got, ev)
		}
	}
	if n := len(got); n == 0 || got[n-1].Kind != EventFrame || string(got[n-1].Data) != "STATUS" {
		t.Errorf("frame after the endless one: %+v", got)
	}
}
