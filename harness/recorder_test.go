package harness

import (
	"fmt"
	"strings"
	"testing"
)

// TestRecorderBounded checks that the timeline is a ring: after 10N adds
// a recorder of capacity N keeps the newest N, counts the rest as dropped,
// and goes on numbering, so Since and Len still work for a reader.
func TestRecorderBounded(t *testing.T) {
	const n = 100
	r := NewRecorderWith(RecorderConfig{MaxEvents: n})
	for i := range 10 * n {
		r.Add(Event{Source: "test", Kind: "k", Text: fmt.Sprint(i)})
	}
	evs := r.Events()
	if len(evs) != n {
		t.Fatalf("kept %d events, want %d", len(evs), n)
	}
	if got, want := r.Dropped(), uint64(9*n); got != want {
		t.Errorf("Dropped() = %d, want %d", got, want)
	}
	if got := r.Len(); got != 10*n {
		t.Errorf("Len() = %d, want %d", got, 10*n)
	}
	for i, e := range evs {
		if want := 9*n + i + 1; e.Seq != want || e.Text != fmt.Sprint(want-1) {
			t.Fatalf("event %d is seq %d %q, want seq %d", i, e.Seq, e.Text, want)
		}
	}
	tests := []struct {
		since, want, first int
	}{
		{0, n, 9*n + 1},     // everything kept
		{5 * n, n, 9*n + 1}, // dropped part asked for: what is kept
		{9*n + 10, n - 10, 9*n + 11},
		{10*n - 1, 1, 10 * n},
		{10 * n, 0, 0},
	}
	for _, tt := range tests {
		got := r.Since(tt.since)
		if len(got) != tt.want || (tt.want > 0 && got[0].Seq != tt.first) {
			t.Errorf("Since(%d): %d events from %v, want %d from seq %d", tt.since, len(got), got[:min(1, len(got))], tt.want, tt.first)
		}
	}
}

// TestRecorderUnbounded keeps every event when MaxEvents is negative, and
// a default recorder drops nothing below DefaultMaxEvents.
func TestRecorderUnbounded(t *testing.T) {
	for _, capacity := range []int{-1, 0} {
		r := NewRecorderWith(RecorderConfig{MaxEvents: capacity})
		for range DefaultMaxEvents {
			r.Add(Event{Source: "test"})
		}
		if len(r.Events()) != DefaultMaxEvents || r.Dropped() != 0 {
			t.Errorf("MaxEvents %d: kept %d, dropped %d", capacity, len(r.Events()), r.Dropped())
		}
	}
}

// BenchmarkRecorderAdd shows an Add past capacity allocates nothing: the
// memory of a flooded recorder stays at its bound.
func BenchmarkRecorderAdd(b *testing.B) {
	r := NewRecorderWith(RecorderConfig{MaxEvents: 1000})
	e := Event{Source: "scanner", Kind: "unknown", Text: "byte 0x41 ignored"}
	for range 1000 {
		r.Add(e)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Add(e)
	}
	if len(r.Events()) != 1000 {
		b.Fatalf("kept %d events", len(r.Events()))
	}
}

// TestReportShowsDropped: a scenario whose timeline overflowed says so.
func TestReportShowsDropped(t *testing.T) {
	for _, tt := range []struct {
		dropped uint64
		want    bool
	}{{0, false}, {42, true}} {
		var b strings.Builder
		if err := WriteHTML(&b, RunSummary{Title: "t"}, []ScenarioReport{{Name: "s", Status: "passed", Dropped: tt.dropped}}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "42 older timeline events were dropped"); got != tt.want {
			t.Errorf("dropped %d: notice shown %v, want %v", tt.dropped, got, tt.want)
		}
	}
}
