package acquirer

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

var update = flag.Bool("update", false, "rewrite the seed frames in testdata/frames")

// seedFrames are framed messages the fuzz target and the frame tests start
// from: a good sale, the same cut short, a bitmap that is not hex, garbage.
func seedFrames(t testing.TB) map[string][]byte {
	t.Helper()
	tm := &terminal{t: t, stan: &stanSeq}
	f := tm.sale(visa, 10000)
	f.STAN = "000123"
	m, err := iso.NewMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	packed, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), packed...)
	copy(bad[4:8], "ZZZZ")
	return map[string][]byte{
		"sale.bin":      iso.Frame(packed),
		"truncated.bin": iso.Frame(packed[:len(packed)-3]),
		"badbitmap.bin": iso.Frame(bad),
		"garbage.bin":   iso.Frame([]byte("HELLO, WORLD")),
		"oversize.bin":  {0xff, 0xff, '0', '2', '0', '0'},
	}
}

func TestSeedFrames(t *testing.T) {
	dir := filepath.Join("testdata", "frames")
	for name, b := range seedFrames(t) {
		p := filepath.Join(dir, name)
		if *update {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test -run TestSeedFrames -update)", err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s differs from what the spec packs now; run with -update", p)
		}
	}
}

func TestFrameReader(t *testing.T) {
	fr := &frameReader{spec: iso.Spec87}
	frames := seedFrames(t)
	read := func(name string) (*iso8583.Message, error) {
		return fr.ReadFrame(bufio.NewReader(bytes.NewReader(frames[name])))
	}
	if m, err := read("sale.bin"); err != nil || m.GetSpec() != iso.Spec87 {
		t.Errorf("sale: %v", err)
	}
	m, err := read("truncated.bin")
	if err != nil || m.GetSpec() != malformedSpec {
		t.Fatalf("truncated: %v; want a malformed message", err)
	}
	if stan, _ := m.GetString(11); stan != "000123" {
		t.Errorf("truncated: STAN %q not kept", stan)
	}
	if m, err := read("badbitmap.bin"); err != nil || m.GetSpec() != malformedSpec {
		t.Errorf("bad bitmap: %v; want a malformed message", err)
	}
	if _, err := read("garbage.bin"); !errors.Is(err, errUnreadable) {
		t.Errorf("garbage: err = %v; want errUnreadable", err)
	}
	if _, err := read("oversize.bin"); !errors.Is(err, iso.ErrFrameTooLong) {
		t.Errorf("oversize: err = %v; want ErrFrameTooLong", err)
	}
}

// TestMalformedAndGarbageOverTCP: a frame that does not unpack is answered
// 30 with its STAN and TID; a frame without an MTI closes that connection
// only.
func TestMalformedAndGarbageOverTCP(t *testing.T) {
	h := startHost(t, nil)
	frames := seedFrames(t)
	other := dial(t, h.Addr())

	c, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(frames["truncated.bin"])
	resp := readFrame(t, c)
	if mti, _ := resp.GetMTI(); mti != "0210" || rc(resp) != "30" {
		t.Errorf("truncated frame answered %s %s; want 0210 30", mti, rc(resp))
	}
	if s, _ := resp.GetString(11); s != "000123" {
		t.Errorf("30 carries STAN %q", s)
	}
	c.Write(frames["garbage.bin"])
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after a garbage frame")
	}
	if code := rc(other.mustSend(other.sale(visa, 100))); code != "00" {
		t.Errorf("other connection answered %s", code)
	}
	c2, _ := net.Dial("tcp", h.Addr())
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	c2.Write(frames["oversize.bin"])
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after an oversize header")
	}
	if s := h.Stats(); s.Malformed != 1 || s.Closed != 2 {
		t.Errorf("stats malformed %d closed %d; want 1 and 2", s.Malformed, s.Closed)
	}
}

func readFrame(t *testing.T, r io.Reader) *iso8583.Message {
	t.Helper()
	n, err := iso.ReadLength(r)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatal(err)
	}
	m := iso8583.NewMessage(iso.Spec87)
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	return m
}

// FuzzReadFrame runs the host's inbound path, frame after frame, on
// arbitrary bytes: nothing may panic, and every message handed on is either
// a possim87 message or a malformed marker with a four-digit MTI.
func FuzzReadFrame(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "frames", "*.bin"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	fr := &frameReader{spec: iso.Spec87}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			m, err := fr.ReadFrame(r)
			if err != nil {
				return
			}
			mti, _ := m.GetMTI()
			if m.GetSpec() == malformedSpec && (len(mti) != 4 || !digits(mti)) {
				t.Fatalf("malformed marker with MTI %q", mti)
			}
			_ = iso.MaskFields(m)
		}
	})
}
