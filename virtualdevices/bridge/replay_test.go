package bridge

import (
	"context"
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

func rec(t time.Duration, dir Dir, s string) Record {
	return Record{T: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).Add(t).Format(time.RFC3339Nano), Dir: dir, Hex: hex.EncodeToString([]byte(s))}
}

// A POS program on the real pty follows the recording but once sends
// READ 2 where it sent READ 1: the report names that line only, and the
// device's bytes (a track with a PAN) reached the POS as recorded.
func TestReplayOverPTY(t *testing.T) {
	records := []Record{
		{T: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).Format(time.RFC3339Nano), Event: "pos-connected"},
		rec(0, POSToDev, "STATUS\r"),
		rec(20*time.Millisecond, DevToPOS, "OK\r"),
		rec(40*time.Millisecond, POSToDev, "READ 1\r"),
		rec(90*time.Millisecond, DevToPOS, ";4761739001010010=30122010000000000000?\r"),
		rec(100*time.Millisecond, POSToDev, "BEEP\r"),
	}
	link := filepath.Join(t.TempDir(), "reader")
	ready := make(chan string, 1)
	type result struct {
		rep *ReplayReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Replay(context.Background(), ReplayConfig{Records: records, PTYLink: link, Speed: 1,
			Wait: 5 * time.Second, Logger: testLogger(t), Ready: func(p string) { ready <- p }})
		done <- result{rep, err}
	}()
	path := <-ready
	pos, err := serial.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pos.Close()
	read := func(want string) {
		t.Helper()
		b := make([]byte, len(want))
		if _, err := io.ReadFull(pos, b); err != nil {
			t.Fatalf("POS reading %q: %v", want, err)
		}
		if string(b) != want {
			t.Fatalf("POS got %q, want %q", b, want)
		}
	}
	// The POS writes its commands in other pieces than recorded.
	for _, step := range []struct{ write, read string }{
		{"STA", ""}, {"TUS\r", "OK\r"}, {"READ 2\r", ";4761739001010010=30122010000000000000?\r"}, {"BEEP\r", ""},
	} {
		if _, err := pos.Write([]byte(step.write)); err != nil {
			t.Fatal(err)
		}
		if step.read != "" {
			read(step.read)
		}
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.rep.Deviations) != 1 {
		t.Fatalf("want 1 deviation, got %+v", r.rep.Deviations)
	}
	d := r.rep.Deviations[0].String()
	if want := `line 4: POS sent "READ 2\x0d", recorded "READ 1\x0d" (stream byte 7)`; d != want {
		t.Errorf("deviation:\n got %s\nwant %s", d, want)
	}
	if r.rep.POSIn != 19 || r.rep.DeviceOut != 3+40 {
		t.Errorf("counted %d bytes from the POS and %d to it", r.rep.POSIn, r.rep.DeviceOut)
	}
}

// Device text in a report never shows a PAN, nor a longer run of digits
// that may hold one.
func TestTextMasks(t *testing.T) {
	got := Text([]byte(";4761739001010010=3012?\x03"))
	if strings.Contains(got, "4761739001010010") || got != `";476173******0010=3012?\x03"` {
		t.Errorf("Text = %s", got)
	}
	if got := Text([]byte("x47617390010100101234567y")); got != `"x***********************y"` {
		t.Errorf("Text of 23 digits = %s, want them all masked", got)
	}
}
