package serial

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNoiseCoalesces(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []Burst
		done = make(chan struct{}, 10)
	)
	g := NewNoise(NoiseConfig{Gap: time.Hour, Window: time.Hour, Report: func(b Burst) {
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
		done <- struct{}{}
	}})
	defer g.Close()
	for i := range 100000 {
		if n := g.Add("x", 1); n != i+1 {
			t.Fatalf("Add returned %d, want %d", n, i+1)
		}
	}
	g.Add("y", 1)
	g.Flush()
	g.Flush() // nothing pending: no report
	if len(got) != 1 || got[0] != (Burst{Count: 100001, First: "x", Last: "y"}) {
		t.Fatalf("bursts = %+v, want one of 100001 from x to y", got)
	}
	// A quiet gap ends a burst without Flush.
	g2 := NewNoise(NoiseConfig{Gap: time.Millisecond, Report: func(b Burst) {
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
		done <- struct{}{}
	}})
	defer g2.Close()
	g2.Add("z", 3)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no report after the quiet gap")
	}
	<-done // the first burst's report
	mu.Lock()
	defer mu.Unlock()
	if last := got[len(got)-1]; last.Count != 3 || last.First != "z" {
		t.Errorf("burst after gap = %+v", last)
	}
}

func TestQuietLog(t *testing.T) {
	var buf bytes.Buffer
	log := QuietLog(slog.New(slog.NewTextHandler(&buf, nil)), time.Hour)
	dev := log.With("device", "scanner")
	for range 1000 {
		dev.Warn("garbage")
		log.Info("info passes")
	}
	if n := strings.Count(buf.String(), "msg=garbage"); n != 1 {
		t.Fatalf("%d warning lines, want 1:\n%s", n, buf.String())
	}
	if n := strings.Count(buf.String(), "info passes"); n != 1000 {
		t.Errorf("%d info lines, want 1000", n)
	}
	// Once the interval is over, the next line carries the count.
	st := dev.Handler().(*quietHandler).st
	st.mu.Lock()
	st.seen["garbage"].last = time.Time{}
	st.mu.Unlock()
	buf.Reset()
	dev.Warn("garbage")
	if !strings.Contains(buf.String(), "suppressed=999") || !strings.Contains(buf.String(), "device=scanner") {
		t.Errorf("line after the interval = %q, want suppressed=999", buf.String())
	}
}
