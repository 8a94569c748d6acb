package acquirer

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// warnEvery is how often one kind of repeated warning reaches the log.
const warnEvery = 10 * time.Second

// rateLog logs each kind of warning at most once per interval and counts the
// repeats it holds back, so a failure that hits every request (a full disk,
// a flood of refused connections) writes a line every few seconds, not one
// per request. The next line of that kind carries the count as
// "suppressed"; Flush writes what is still counted.
type rateLog struct {
	log   *slog.Logger
	every time.Duration

	mu    sync.Mutex
	kinds map[string]*rateKind
}

type rateKind struct {
	last       time.Time
	suppressed int
	level      slog.Level
	msg        string
}

func newRateLog(log *slog.Logger, every time.Duration) *rateLog {
	return &rateLog{log: log, every: every, kinds: map[string]*rateKind{}}
}

// setEvery changes the interval (tests).
func (r *rateLog) setEvery(d time.Duration) {
	r.mu.Lock()
	r.every = d
	r.mu.Unlock()
}

// Log writes msg unless a line of the same kind was written less than the
// interval ago; then it only counts it. kind is a fixed name chosen by the
// caller (never from input), so the table stays small.
func (r *rateLog) Log(level slog.Level, kind, msg string, args ...any) {
	if !r.log.Enabled(context.Background(), level) {
		return
	}
	// Wall-clock time on purpose: the host's clock may be a test's fixed one.
	now := time.Now()
	r.mu.Lock()
	k := r.kinds[kind]
	if k == nil {
		k = &rateKind{}
		r.kinds[kind] = k
	}
	if !k.last.IsZero() && now.Sub(k.last) < r.every {
		k.suppressed++
		k.level, k.msg = level, msg
		r.mu.Unlock()
		return
	}
	n := k.suppressed
	k.last, k.suppressed = now, 0
	r.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Log(context.Background(), level, msg, args...)
}

// Warn is Log at warning level.
func (r *rateLog) Warn(kind, msg string, args ...any) { r.Log(slog.LevelWarn, kind, msg, args...) }

// Error is Log at error level.
func (r *rateLog) Error(kind, msg string, args ...any) { r.Log(slog.LevelError, kind, msg, args...) }

// Flush writes one line per kind with repeats still held back, so a count is
// not lost when the failures stop or the host closes.
func (r *rateLog) Flush() {
	r.mu.Lock()
	type line struct {
		level slog.Level
		msg   string
		n     int
	}
	var lines []line
	for _, k := range r.kinds {
		if k.suppressed > 0 {
			lines = append(lines, line{k.level, k.msg, k.suppressed})
			k.suppressed = 0
		}
	}
	r.mu.Unlock()
	for _, l := range lines {
		r.log.Log(context.Background(), l.level, l.msg+" (repeats held back)", "suppressed", l.n)
	}
}
