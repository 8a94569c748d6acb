package load

import (
	"sync"
	"time"

	"github.com/possim/possim/simulators/iso"
)

// tally is what happened to a set of requests: the latencies and the
// outcomes. A worker keeps one for its whole run and one for the window it
// is sending in; the window's is added to the run's windows when the
// worker moves on, so the generator holds one window histogram per window
// and not one per connection and window.
type tally struct {
	hist     *Histogram
	requests int64
	approved int64
	errors   int64
	declines map[string]int
	errs     map[string]int
}

func newTally(figures int) *tally {
	return &tally{hist: newHistogram(figures), declines: map[string]int{}, errs: map[string]int{}}
}

// count adds one request: its latency, and rc (approved or declined) or
// errKind (an error), one of them empty.
func (t *tally) count(us int64, rc, errKind string) {
	t.hist.record(us)
	t.requests++
	switch {
	case errKind != "":
		t.errors++
		t.errs[errKind]++
	case rc == iso.RCApproved:
		t.approved++
	default:
		t.declines[rc]++
	}
}

// add adds o to t; both hold histograms possim made, so merging cannot drop.
func (t *tally) add(o *tally) error {
	if err := t.hist.Merge(o.hist); err != nil {
		return err
	}
	t.requests += o.requests
	t.approved += o.approved
	t.errors += o.errors
	addCounts(t.declines, o.declines)
	addCounts(t.errs, o.errs)
	return nil
}

func (t *tally) reset() {
	t.hist.h.Reset()
	t.requests, t.approved, t.errors = 0, 0, 0
	clear(t.declines)
	clear(t.errs)
}

func addCounts(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}

// windows collects the run's windows from its workers.
type windows struct {
	width time.Duration
	mu    sync.Mutex
	byIdx map[int]*tally
}

// flush adds a worker's window i and empties it.
func (ws *windows) flush(i int, t *tally) {
	if t.requests == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w := ws.byIdx[i]
	if w == nil {
		w = newTally(windowFigures)
		ws.byIdx[i] = w
	}
	_ = w.add(t) // same geometry: cannot drop
	t.reset()
}

// report lists the windows from the run's start to its end, empty ones
// included, so a stalled host shows as a gap rather than vanishing.
func (ws *windows) report(start time.Time, elapsed time.Duration) []Window {
	n := int((elapsed + ws.width - 1) / ws.width)
	if last := n - 1; last >= 0 && elapsed%ws.width != 0 && ws.byIdx[last] == nil {
		n-- // the run ended just into a window in which nothing was sent
	}
	for i := range ws.byIdx {
		n = max(n, i+1)
	}
	out := make([]Window, n)
	for i := range out {
		from := time.Duration(i) * ws.width
		t := ws.byIdx[i]
		if t == nil {
			t = newTally(windowFigures)
		}
		out[i] = t.window(start.Add(from), from, min(ws.width, max(elapsed-from, 0)))
	}
	return out
}

// window is the tally as a report window that starts at at, from after
// the run's start, and lasts length.
func (t *tally) window(at time.Time, from, length time.Duration) Window {
	return Window{At: at.UTC(), Start: from.Seconds(), Seconds: length.Seconds(), Requests: int(t.requests),
		Approved: t.approved, Errors: t.errors, Declines: copyCounts(t.declines), ErrorKinds: copyCounts(t.errs),
		Latency: t.hist.Latency(), Histogram: t.hist}
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	addCounts(out, m)
	return out
}

// record counts one request of worker w sent at intended.
func (w *worker) record(start, intended time.Time, lat time.Duration, rc, errKind string) {
	us := lat.Microseconds()
	w.all.count(us, rc, errKind)
	if w.wins == nil {
		return
	}
	i := int(intended.Sub(start) / w.wins.width)
	if i != w.winIdx {
		w.wins.flush(w.winIdx, w.win)
		w.winIdx = i
	}
	w.win.count(us, rc, errKind)
}
