package acquirer

import (
	"sync"
	"time"

	"github.com/possim/possim/simulators/iso"
)

// DefaultRequestLogSize is how many messages a RequestLog keeps by default.
const DefaultRequestLogSize = 10000

// RequestLog keeps the last messages a host received and answered, masked
// as on the trace, in a ring of fixed size: memory stays bounded however
// long the host runs. Safe for concurrent use.
type RequestLog struct {
	mu   sync.Mutex
	ring []Event
	next int // where the next event goes
	full bool
}

// NewRequestLog returns a log keeping the last size events (0 or less:
// DefaultRequestLogSize).
func NewRequestLog(size int) *RequestLog {
	if size <= 0 {
		size = DefaultRequestLogSize
	}
	return &RequestLog{ring: make([]Event, size)}
}

// RecordRequests starts a RequestLog of size events fed by every message
// the host receives and answers from now on.
func (h *Host) RecordRequests(size int) *RequestLog {
	l := NewRequestLog(size)
	h.OnEvent(l.Record)
	return l
}

// Record adds ev, dropping the oldest event when the ring is full. The
// event's Fields map is kept as is: the host never changes it after emit.
func (l *RequestLog) Record(ev Event) {
	l.mu.Lock()
	l.ring[l.next] = ev
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// RequestFilter selects events; empty fields match anything.
type RequestFilter struct {
	TID  string // field 41
	STAN string // field 11
	// MTI matches a request of that type and its answers: 0200 selects
	// 0200 and 0210.
	MTI   string
	Since time.Time // events at or after
}

func (f RequestFilter) match(ev *Event) bool {
	switch {
	case f.TID != "" && ev.Fields["41"] != f.TID,
		f.STAN != "" && ev.Fields["11"] != f.STAN,
		f.MTI != "" && ev.MTI != f.MTI && ev.MTI != iso.ResponseMTI(f.MTI),
		!f.Since.IsZero() && ev.Time.Before(f.Since):
		return false
	}
	return true
}

// Query returns the kept events f selects, oldest first.
func (l *RequestLog) Query(f RequestFilter) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []Event{}
	n := l.next
	if l.full {
		n = len(l.ring)
	}
	start := 0
	if l.full {
		start = l.next
	}
	for i := range n {
		ev := &l.ring[(start+i)%len(l.ring)]
		if f.match(ev) {
			out = append(out, *ev)
		}
	}
	return out
}

// Len is how many events the log holds.
func (l *RequestLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.full {
		return len(l.ring)
	}
	return l.next
}
