package printer

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

// feed runs data through a printer's parser and command handling as Serve
// does, without a link, and returns the answers it would have written.
func feed(t testing.TB, p *Printer, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	ps := p.newSession(bytes.NewReader(data), &out)
	for {
		cmd, err := ps.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("parsing: %v", err)
			}
			return out.Bytes()
		}
		if cmd.op == opStatus && isRealtimeStatus(cmd.n) {
			if err := ps.reached(cmd.n); err != nil {
				t.Fatal(err)
			}
			continue
		}
		out.Write(p.handle(cmd))
	}
}

// fixedNow is a deterministic clock for receipts.
func fixedNow() time.Time { return time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC) }

// recorder collects events; safe for use from the printer's goroutines.
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

// newTestPrinter returns a printer logging to t and recording events.
func newTestPrinter(t testing.TB, cfg Config) (*Printer, *recorder) {
	t.Helper()
	rec := &recorder{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	if hook := cfg.OnEvent; hook != nil {
		cfg.OnEvent = func(e Event) { rec.add(e); hook(e) }
	} else {
		cfg.OnEvent = rec.add
	}
	p := New(cfg)
	t.Cleanup(func() { _ = p.Close() })
	return p, rec
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}

// pipeLink attaches a net.Pipe to p and returns the POS end.
func pipeLink(t testing.TB, p *Printer) net.Conn {
	t.Helper()
	pos, dev := net.Pipe()
	p.Attach(dev)
	t.Cleanup(func() { _ = pos.Close() })
	return pos
}

func pipePair() (pos, dev net.Conn) { return net.Pipe() }
