package scanner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds(kind string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e.Detail)
		}
	}
	return out
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}

// start returns a scanner attached to a net.Pipe and a driver on the POS end.
func start(t *testing.T, cfg Config) (*Scanner, *Driver, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg.OnEvent = rec.add
	cfg.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := New(cfg)
	pos, dev := net.Pipe()
	s.Attach(dev)
	t.Cleanup(func() {
		_ = pos.Close()
		_ = s.Close()
	})
	// Attach serves in a goroutine; wait until it registered the link.
	synctest.Wait()
	return s, NewDriver(pos, cfg.Suffix), rec
}

func TestScan(t *testing.T) {
	tests := []struct {
		name   string
		suffix []byte
		codes  []string
	}{
		{"default CR", nil, []string{"6901234567892", "281234567890123456"}},
		{"CR LF", []byte("\r\n"), []string{"6901234567908", "https://pay.example/qr/1"}},
		{"TAB", []byte("\t"), []string{"6901234567915", "付款码 2812"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, d, rec := start(t, Config{Suffix: tt.suffix})
				for _, code := range tt.codes {
					if err := s.Scan(code); err != nil {
						t.Fatal(err)
					}
				}
				for _, want := range tt.codes {
					got, err := d.ReadScan(t.Context())
					if err != nil || got != want {
						t.Errorf("ReadScan = %q, %v; want %q", got, err, want)
					}
				}
				if n := len(rec.kinds(EventScan)); n != len(tt.codes) {
					t.Errorf("%d scan events, want %d", n, len(tt.codes))
				}
			})
		})
	}
}

func TestProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, d, rec := start(t, Config{})
		if err := d.Probe(t.Context()); err != nil {
			t.Fatalf("healthy scanner: %v", err)
		}
		s.Break()
		startAt := time.Now()
		if err := d.Probe(t.Context()); !errors.Is(err, ErrNoResponse) {
			t.Errorf("broken scanner: Probe = %v, want ErrNoResponse", err)
		}
		if el := time.Since(startAt); el != DefaultProbeTimeout {
			t.Errorf("gave up after %v, want %v", el, DefaultProbeTimeout)
		}
		s.Fix()
		if err := d.Probe(t.Context()); err != nil {
			t.Errorf("fixed scanner: %v", err)
		}
		synctest.Wait() // the device reports after it queued the ACK
		if got := rec.kinds(EventProbe); len(got) != 3 || got[1] != "ENQ not answered: scanner broken" {
			t.Errorf("probe events = %q", got)
		}
	})
}

func TestBrokenEmitsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, d, rec := start(t, Config{})
		s.Break()
		if err := s.Scan("lost"); err != nil {
			t.Fatalf("Scan while broken = %v, want nil (nothing happens)", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if got, err := d.ReadScan(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ReadScan from broken scanner = %q, %v; want a timeout", got, err)
		}
		s.Fix()
		if err := s.Scan("6901234567892"); err != nil {
			t.Fatal(err)
		}
		if got, err := d.ReadScan(t.Context()); err != nil || got != "6901234567892" {
			t.Errorf("after Fix: %q, %v", got, err)
		}
		if got := rec.kinds(EventDropped); len(got) != 1 {
			t.Errorf("dropped events = %q", got)
		}
	})
}

func TestGarble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, d, _ := start(t, Config{})
		s.Garble()
		for _, code := range []string{"6901234567892", "6901234567892"} {
			if err := s.Scan(code); err != nil {
				t.Fatal(err)
			}
		}
		_, err := d.ReadScan(t.Context())
		var ge *GarbledError
		if !errors.Is(err, ErrGarbled) || !errors.As(err, &ge) || len(ge.Raw) != len("6901234567892") {
			t.Fatalf("garbled scan: %v", err)
		}
		if got, err := d.ReadScan(t.Context()); err != nil || got != "6901234567892" {
			t.Errorf("scan after the garbled one: %q, %v", got, err)
		}
		// Fix also clears a pending Garble.
		s.Garble()
		s.Fix()
		_ = s.Scan("ok")
		if got, err := d.ReadScan(t.Context()); err != nil || got != "ok" {
			t.Errorf("after Garble+Fix: %q, %v", got, err)
		}
	})
}

func TestProbeWhileScanning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, d, _ := start(t, Config{})
		got := make(chan string, 1)
		go func() {
			code, err := d.ReadScan(t.Context())
			if err != nil {
				code = err.Error()
			}
			got <- code
		}()
		synctest.Wait()
		if err := d.Probe(t.Context()); err != nil {
			t.Fatal(err)
		}
		_ = s.Scan("6901234567922")
		if code := <-got; code != "6901234567922" {
			t.Errorf("ReadScan during Probe = %q", code)
		}
	})
}

func TestScanNotConnected(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	if err := s.Scan("x"); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Scan with no link = %v", err)
	}
}

func TestReadScanLinkClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pos, dev := net.Pipe()
		_ = dev.Close()
		if _, err := NewDriver(pos, nil).ReadScan(t.Context()); err == nil {
			t.Error("ReadScan on a closed link succeeded")
		}
		_ = pos.Close()
	})
}

// FuzzReadScan: whatever arrives, ReadScan returns printable text or an
// error, and never panics.
func FuzzReadScan(f *testing.F) {
	f.Add([]byte("6901234567892\r"))
	f.Add([]byte("\xff9\xff1\r\x06\x06abc\r"))
	f.Add([]byte("\r\r\x00\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDriver(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(data), io.Discard}, nil)
		for range 100 {
			code, err := d.ReadScan(t.Context())
			if err != nil {
				if errors.Is(err, ErrGarbled) {
					continue
				}
				return
			}
			if !printable([]byte(code)) {
				t.Fatalf("ReadScan returned %q", code)
			}
		}
	})
}
