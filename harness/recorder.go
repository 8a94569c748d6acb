package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Event is one line of the lab's timeline. Everything in it is already
// masked: PANs as 476173******0010; no track, PIN block or field 55.
type Event struct {
	Seq    int               `json:"seq"`
	At     time.Duration     `json:"at_ns"` // since the lab started; virtual time under synctest
	Source string            `json:"source"`
	Kind   string            `json:"kind"`
	Text   string            `json:"text,omitempty"`
	MTI    string            `json:"mti,omitempty"`
	Code   string            `json:"code,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

// String is the event as one readable line.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%4d %9.3fs %-10s %-12s", e.Seq, e.At.Seconds(), e.Source, e.Kind)
	if e.MTI != "" {
		fmt.Fprintf(&b, " %s", e.MTI)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " rc=%s", e.Code)
	}
	if e.Text != "" {
		fmt.Fprintf(&b, " %s", e.Text)
	}
	return b.String()
}

// DefaultMaxEvents is how many events a Recorder keeps unless told
// otherwise: enough for any scenario, and a bound on the memory of a
// long-running `possim devices` whose POS sends garbage.
const DefaultMaxEvents = 10000

// RecorderConfig configures NewRecorderWith.
type RecorderConfig struct {
	// Now stamps events; nil means time.Now.
	Now func() time.Time
	// MaxEvents bounds the timeline: past it the oldest events are dropped
	// and counted (Dropped). 0 means DefaultMaxEvents; negative keeps every
	// event.
	MaxEvents int
}

// Recorder keeps the lab's timeline. Steps assert on it, reports draw it,
// and it is saved as JSONL for replay. It keeps the newest MaxEvents events
// in a ring; sequence numbers keep counting, so a gap before the first
// kept event shows what was dropped.
type Recorder struct {
	start time.Time
	now   func() time.Time
	max   int // < 0: unbounded

	mu    sync.Mutex
	ring  []Event // ring[head] is the oldest kept event once the ring is full
	head  int
	total int // events ever added; the last one's Seq
	watch []func(Event)
}

// NewRecorder starts a timeline at now() that keeps DefaultMaxEvents events.
func NewRecorder(now func() time.Time) *Recorder {
	return NewRecorderWith(RecorderConfig{Now: now})
}

// NewRecorderWith starts a timeline as cfg says.
func NewRecorderWith(cfg RecorderConfig) *Recorder {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxEvents == 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	return &Recorder{start: cfg.Now(), now: cfg.Now, max: cfg.MaxEvents}
}

// Elapsed is how far the lab's clock has moved since the timeline
// started: the scenario's simulated time, events or not.
func (r *Recorder) Elapsed() time.Duration { return r.now().Sub(r.start) }

// Add appends an event, stamping its sequence number and time. When the
// timeline is full the oldest event is dropped.
func (r *Recorder) Add(e Event) {
	r.mu.Lock()
	r.total++
	e.Seq = r.total
	e.At = r.now().Sub(r.start)
	if r.max < 0 || len(r.ring) < r.max {
		r.ring = append(r.ring, e)
	} else {
		r.ring[r.head] = e
		r.head = (r.head + 1) % len(r.ring)
	}
	watch := r.watch
	r.mu.Unlock()
	for _, w := range watch {
		w(e)
	}
}

// Watch calls f for every event added from now on (the control API's
// WebSocket stream uses it). f must not block.
func (r *Recorder) Watch(f func(Event)) {
	r.mu.Lock()
	r.watch = append(r.watch, f)
	r.mu.Unlock()
}

// keptLocked returns the kept events, oldest first, in a new slice.
func (r *Recorder) keptLocked() []Event {
	out := make([]Event, 0, len(r.ring))
	out = append(out, r.ring[r.head:]...)
	return append(out, r.ring[:r.head]...)
}

// Events returns a copy of the kept timeline, oldest first.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keptLocked()
}

// Since returns the kept events whose Seq is after seq.
func (r *Recorder) Since(seq int) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq >= r.total {
		return nil
	}
	kept := r.keptLocked()
	first := r.total - len(kept) // Seq of kept[0] is first+1
	if seq > first {
		kept = kept[seq-first:]
	}
	return kept
}

// Len is the number of events added so far, dropped ones included: the
// Seq of the last event, where a reader of Since goes on from.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Dropped is how many of the oldest events were dropped to keep the
// timeline within MaxEvents.
func (r *Recorder) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return uint64(r.total - len(r.ring))
}

// Filter returns the events of a source and kind ("" matches any).
func (r *Recorder) Filter(source, kind string) []Event {
	var out []Event
	for _, e := range r.Events() {
		if (source == "" || e.Source == source) && (kind == "" || e.Kind == kind) {
			out = append(out, e)
		}
	}
	return out
}

// WriteJSONL writes the whole timeline, one event per line, with map keys
// sorted so that the same run gives the same bytes.
func (r *Recorder) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, e := range r.Events() {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// Ladder returns the ISO messages between terminal and host in order, as
// the reports draw them.
func (r *Recorder) Ladder() []Event {
	var out []Event
	for _, e := range r.Events() {
		if e.MTI != "" && (e.Kind == "iso_out" || e.Kind == "iso_in") && e.Source == "terminal" {
			out = append(out, e)
		}
	}
	return out
}

// sortedKeys is for stable rendering of field maps.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	return keys
}
