package serial

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultLogEvery is how often QuietLog lets the same warning through.
const DefaultLogEvery = time.Second

// maxQuietKeys bounds the messages QuietLog remembers; past it, it forgets
// them all and starts again.
const maxQuietKeys = 1024

// QuietLog wraps a logger so that a warning (or error) with the same
// message is written at most once per every: the ones in between are
// counted, and the next one written carries suppressed=N. Records below
// Warn pass unchanged. Devices use it so that a flood from the POS cannot
// flood their log.
func QuietLog(log *slog.Logger, every time.Duration) *slog.Logger {
	if every <= 0 {
		every = DefaultLogEvery
	}
	return slog.New(&quietHandler{h: log.Handler(), st: &quietState{every: every, seen: map[string]*quietEntry{}}})
}

type quietEntry struct {
	last       time.Time
	suppressed int
}

type quietState struct {
	every time.Duration
	mu    sync.Mutex
	seen  map[string]*quietEntry
}

type quietHandler struct {
	h  slog.Handler
	st *quietState // shared by the handlers WithAttrs and WithGroup derive
}

func (q *quietHandler) Enabled(ctx context.Context, l slog.Level) bool { return q.h.Enabled(ctx, l) }

func (q *quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return q.h.Handle(ctx, r)
	}
	st := q.st
	st.mu.Lock()
	e := st.seen[r.Message]
	now := time.Now()
	if e != nil && now.Sub(e.last) < st.every {
		e.suppressed++
		st.mu.Unlock()
		return nil
	}
	if e == nil {
		if len(st.seen) >= maxQuietKeys {
			clear(st.seen)
		}
		e = &quietEntry{}
		st.seen[r.Message] = e
	}
	suppressed := e.suppressed
	e.last, e.suppressed = now, 0
	st.mu.Unlock()
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return q.h.Handle(ctx, r)
}

func (q *quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &quietHandler{h: q.h.WithAttrs(as), st: q.st}
}

func (q *quietHandler) WithGroup(name string) slog.Handler {
	return &quietHandler{h: q.h.WithGroup(name), st: q.st}
}
