package bridge

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

// ReplayConfig configures Replay: a recorded device played to POS
// software on a pty.
type ReplayConfig struct {
	Records []Record
	PTYLink string // where POS software opens the pty; empty: the slave name
	// Speed divides the recorded gaps (2: twice as fast); 0 writes the
	// device's bytes as soon as the POS has sent what came before them.
	Speed float64
	// Wait is how long the POS's bytes a record holds are waited for
	// (0: 10 s); Settle how long after the last record bytes the
	// recording lacks are still taken (0: 200 ms).
	Wait, Settle time.Duration
	Logger       *slog.Logger
	// Ready, when set, is called with the pty path once it can be opened.
	Ready func(path string)
}

// Deviation is where the POS software's bytes differ from the recording.
type Deviation struct {
	Line   int    `json:"line"`   // of the recording (1-based, events counted)
	Offset int64  `json:"offset"` // in the POS's byte stream
	Want   string `json:"want"`   // as text, control bytes escaped, PANs masked
	Got    string `json:"got"`
	Why    string `json:"why"` // "differs", "missing", "extra"
}

func (d Deviation) String() string {
	switch d.Why {
	case "extra":
		return fmt.Sprintf("after the last record: POS sent %s the recording lacks (stream byte %d)", d.Got, d.Offset)
	case "missing":
		return fmt.Sprintf("line %d: POS sent %s of %s (stream byte %d)", d.Line, d.Got, d.Want, d.Offset)
	}
	return fmt.Sprintf("line %d: POS sent %s, recorded %s (stream byte %d)", d.Line, d.Got, d.Want, d.Offset)
}

// ReplayReport is what Replay found.
type ReplayReport struct {
	Path       string      `json:"path"`
	DeviceOut  int         `json:"device_bytes"` // written to the POS
	POSIn      int64       `json:"pos_bytes"`    // read from the POS
	Deviations []Deviation `json:"deviations"`
}

// Replay plays the device side of a recording to whatever opens the pty:
// the bytes the POS got (after any fault of the recording), paced as
// recorded from the moment the POS's bytes before them arrived, and
// compares what the POS sends with what it sent then, as one byte stream
// (the POS may cut its writes otherwise).
func Replay(ctx context.Context, cfg ReplayConfig) (*ReplayReport, error) {
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 200 * time.Millisecond
	}
	type step struct {
		line int
		at   time.Time
		dir  Dir
		b    []byte
	}
	var steps []step
	for i, r := range cfg.Records {
		if r.Dir == "" || r.Fault == "drop" || r.Fault == "no-client" {
			continue
		}
		h := r.Hex
		if r.Sent != "" {
			h = r.Sent
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("recording line %d: hex: %w", i+1, err)
		}
		at, err := time.Parse(time.RFC3339Nano, r.T)
		if err != nil {
			return nil, fmt.Errorf("recording line %d: time %q: %w", i+1, r.T, err)
		}
		if r.Dir != POSToDev && r.Dir != DevToPOS {
			return nil, fmt.Errorf("recording line %d: dir %q: want %s or %s", i+1, r.Dir, POSToDev, DevToPOS)
		}
		steps = append(steps, step{line: i + 1, at: at, dir: r.Dir, b: b})
	}
	p, err := serial.OpenPTY(serial.PTYConfig{Link: cfg.PTYLink, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("opening the pty: %w", err)
	}
	in := &posStream{arrived: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	wg.Go(func() { in.pump(p) })
	defer func() {
		p.Close()
		wg.Wait()
	}()
	rep := &ReplayReport{Path: p.Path()}
	if cfg.Ready != nil {
		cfg.Ready(p.Path())
	}
	anchor, anchorRec := time.Now(), time.Time{}
	if len(steps) > 0 {
		anchorRec = steps[0].at
	}
	for _, s := range steps {
		switch s.dir {
		case DevToPOS:
			if cfg.Speed > 0 {
				due := anchor.Add(time.Duration(float64(s.at.Sub(anchorRec)) / cfg.Speed))
				if err := sleepCtx(ctx, time.Until(due)); err != nil {
					return rep, err
				}
			}
			if _, err := p.Write(s.b); err != nil {
				return rep, fmt.Errorf("writing line %d to the POS: %w", s.line, err)
			}
			rep.DeviceOut += len(s.b)
		case POSToDev:
			off := in.offset()
			got, err := in.take(ctx, len(s.b), cfg.Wait)
			if err != nil {
				return rep, err
			}
			switch {
			case len(got) < len(s.b):
				rep.Deviations = append(rep.Deviations, Deviation{Line: s.line, Offset: off, Want: Text(s.b), Got: Text(got), Why: "missing"})
			case !bytes.Equal(got, s.b):
				rep.Deviations = append(rep.Deviations, Deviation{Line: s.line, Offset: off, Want: Text(s.b), Got: Text(got), Why: "differs"})
			}
			anchor, anchorRec = time.Now(), s.at
		}
	}
	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return rep, err
	}
	off := in.offset()
	if extra := in.drain(); len(extra) > 0 {
		rep.Deviations = append(rep.Deviations, Deviation{Offset: off, Got: Text(extra), Why: "extra"})
	}
	rep.POSIn = in.offset()
	return rep, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// posStream is what the POS wrote, not yet compared.
type posStream struct {
	mu      sync.Mutex
	buf     []byte
	taken   int64
	done    bool
	arrived chan struct{}
}

func (s *posStream) pump(r io.Reader) {
	b := make([]byte, 4096)
	for {
		n, err := r.Read(b)
		s.mu.Lock()
		s.buf = append(s.buf, b[:n]...)
		if err != nil && err != serial.ErrHangup {
			s.done = true
		}
		done := s.done
		s.mu.Unlock()
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		if done {
			return
		}
	}
}

func (s *posStream) offset() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken
}

// take returns the next n bytes, or fewer if they do not come within wait.
func (s *posStream) take(ctx context.Context, n int, wait time.Duration) ([]byte, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		s.mu.Lock()
		if len(s.buf) >= n || s.done {
			s.mu.Unlock()
			return s.next(n), nil
		}
		s.mu.Unlock()
		select {
		case <-s.arrived:
		case <-t.C:
			return s.next(n), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *posStream) next(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, len(s.buf))
	out := append([]byte(nil), s.buf[:n]...)
	s.buf = s.buf[n:]
	s.taken += int64(n)
	return out
}

func (s *posStream) drain() []byte {
	s.mu.Lock()
	n := len(s.buf)
	s.mu.Unlock()
	return s.next(n)
}
