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

// Recorder keeps the lab's timeline. Steps assert on it, reports draw it,
// and it is saved as JSONL for replay.
type Recorder struct {
	start time.Time
	now   func() time.Time

	mu      sync.Mutex
	events  []Event
	watch   []func(Event)
	written int
}

// NewRecorder starts a timeline at now().
func NewRecorder(now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{start: now(), now: now}
}

// Add appends an event, stamping its sequence number and time.
func (r *Recorder) Add(e Event) {
	r.mu.Lock()
	e.Seq = len(r.events) + 1
	e.At = r.now().Sub(r.start)
	r.events = append(r.events, e)
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

// Events returns a copy of the timeline so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Since returns the events after seq.
func (r *Recorder) Since(seq int) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq >= len(r.events) {
		return nil
	}
	return append([]Event(nil), r.events[seq:]...)
}

// Len is the number of events so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
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
