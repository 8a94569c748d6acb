package serial

import (
	"sync"
	"time"
)

// Default timings of a Noise counter.
const (
	DefaultNoiseGap    = 200 * time.Millisecond
	DefaultNoiseWindow = time.Second
)

// Burst is what a Noise counter reports: a run of garbage.
type Burst struct {
	Count int    // bytes or commands in the burst
	First string // the first one's description
	Last  string // the last one's description
}

// NoiseConfig configures NewNoise.
type NoiseConfig struct {
	// Gap of quiet ends a burst (default DefaultNoiseGap).
	Gap time.Duration
	// Window bounds a burst that never pauses: it is reported at least
	// this often (default DefaultNoiseWindow).
	Window time.Duration
	// Report receives each burst, from Flush or from a timer goroutine,
	// never two at once.
	Report func(Burst)
}

// Noise coalesces a device's garbage input into one report per burst, so
// a POS that sends megabytes of noise costs one event and one log line,
// not one per byte. A burst ends at Flush (the device saw valid input, or
// the link ended), after Gap without garbage, or Window after it began.
type Noise struct {
	cfg NoiseConfig

	mu     sync.Mutex // held while reporting, so reports keep their order
	burst  Burst
	began  time.Time
	timer  *time.Timer
	closed bool
}

// NewNoise returns an idle counter.
func NewNoise(cfg NoiseConfig) *Noise {
	if cfg.Gap <= 0 {
		cfg.Gap = DefaultNoiseGap
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultNoiseWindow
	}
	return &Noise{cfg: cfg}
}

// Add counts n pieces of garbage described by what, and returns the
// burst's count so far (1 for the first piece of a new burst).
func (g *Noise) Add(what string, n int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.burst.Count == 0 {
		g.burst.First = what
		g.began = time.Now()
	}
	g.burst.Count += n
	g.burst.Last = what
	if g.closed {
		return g.burst.Count
	}
	wait := min(g.cfg.Gap, g.cfg.Window-time.Since(g.began))
	if g.timer == nil {
		g.timer = time.AfterFunc(wait, g.expire)
	} else {
		g.timer.Reset(wait)
	}
	return g.burst.Count
}

func (g *Noise) expire() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.timer = nil
	g.reportLocked()
}

// Flush ends the current burst now, reporting it if it holds anything.
func (g *Noise) Flush() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.reportLocked()
}

// Close reports what is pending and stops the timer for good.
func (g *Noise) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.Flush()
}

func (g *Noise) reportLocked() {
	if g.burst.Count == 0 {
		return
	}
	b := g.burst
	g.burst = Burst{}
	if g.cfg.Report != nil {
		g.cfg.Report(b)
	}
}
