package scanner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
	"github.com/possim/possim/virtualdevices/serial/serialtest"
)

func startPTYScanner(t *testing.T) (*Scanner, string) {
	t.Helper()
	s := New(Config{})
	pty, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(t.TempDir(), "scanner")})
	if err != nil {
		t.Fatal(err)
	}
	s.Attach(pty) // Close closes the pty
	return s, pty.Path()
}

// TestPTY scans through a pty opened as a POS application opens a serial
// scanner, reopening it once.
func TestPTY(t *testing.T) {
	s, path := startPTYScanner(t)
	t.Cleanup(func() { _ = s.Close() })
	for _, code := range []string{"6901234567892", "281234567890123456"} {
		port, err := serial.OpenRaw(path)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDriver(port, nil)
		d.ProbeTimeout = 10 * time.Second // real time on a busy machine
		if err := d.Probe(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Scan(code); err != nil {
			t.Fatal(err)
		}
		if got, err := d.ReadScan(t.Context()); err != nil || got != code {
			t.Errorf("ReadScan = %q, %v; want %q", got, err, code)
		}
		s.Break()
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		if err := d.Probe(ctx); !errors.Is(err, ErrNoResponse) {
			t.Errorf("Probe of broken scanner = %v", err)
		}
		cancel()
		s.Fix()
		_ = port.Close()
	}
}

func TestPTYConformance(t *testing.T) {
	serialtest.Run(t, serialtest.Device{
		Open: func(t *testing.T) (io.Closer, string) {
			return startPTYScanner(t)
		},
		Probe:     []byte{ENQ},
		WantReply: func(got []byte) bool { return bytes.HasSuffix(got, []byte{ACK}) },
		Raw:       true,
	})
}

// TestPTYGarbageCoalesced floods the scanner's pty with bytes that are not
// ENQ: they must cost a handful of events, not one per byte, and the probe
// that follows is still answered.
func TestPTYGarbageCoalesced(t *testing.T) {
	const size = 64 << 10
	var (
		mu      sync.Mutex
		garbage int
		events  int
	)
	s := New(Config{OnEvent: func(e Event) {
		if e.Kind != EventUnknown {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		events++
		var n int
		if _, err := fmt.Sscanf(e.Detail, "%d bytes of garbage", &n); err != nil {
			n = 1
		}
		garbage += n
	}})
	t.Cleanup(func() { _ = s.Close() })
	pty, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(t.TempDir(), "scanner")})
	if err != nil {
		t.Fatal(err)
	}
	s.Attach(pty)
	port, err := serial.OpenRaw(pty.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if _, err := port.Write(bytes.Repeat([]byte("garbage!"), size/8)); err != nil {
		t.Fatal(err)
	}
	d := NewDriver(port, nil)
	d.ProbeTimeout = 10 * time.Second
	if err := d.Probe(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if garbage != size || events > 10 {
		t.Errorf("%d garbage bytes reported in %d events, want %d in a few", garbage, events, size)
	}
}
