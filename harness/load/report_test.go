package load

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/possimtest"
	"github.com/possim/possim/simulators/iso"
)

// startHost starts a real acquirer host with its ledger in a temporary
// folder, on loopback.
func startHost(t *testing.T) string {
	t.Helper()
	return possimtest.NewHost(t).Addr()
}

// TestReportRoundTrip runs real load with declines on a real host, writes
// the report and the page, and reads the report back.
func TestReportRoundTrip(t *testing.T) {
	addr := startHost(t)
	rep, err := Run(context.Background(), Config{Addr: addr, Conns: 4, Count: 400, Seed: 3, Window: 50 * time.Millisecond,
		Mix: Mix{Sale: 8, Decline: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Approved == 0 || len(rep.Declines) == 0 || rep.Requests != 400 {
		t.Fatalf("run: %d requests, %d approved, declines %v; want 400 with both", rep.Requests, rep.Approved, rep.Declines)
	}
	if rep.Terminals != "LOAD0001-LOAD0004" || rep.Generators != 1 || !rep.End.After(rep.Start) {
		t.Errorf("terminals %q, generators %d, %v..%v", rep.Terminals, rep.Generators, rep.Start, rep.End)
	}
	dir := t.TempDir()
	if err := rep.WriteFile(filepath.Join(dir, "r.json")); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(filepath.Join(dir, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Requests != rep.Requests || back.Approved != rep.Approved || back.Errors != rep.Errors ||
		!equalCounts(back.Declines, rep.Declines) || back.Latency != rep.Latency || !back.Start.Equal(rep.Start) {
		t.Errorf("read back %+v\nwrote %+v", back, rep)
	}
	if !back.Histogram.h.Equals(rep.Histogram.h) {
		t.Error("the histogram read back differs from the one written")
	}
	var inWindows, declinedInWindows int
	for _, w := range back.Windows {
		inWindows += w.Requests
		for _, n := range w.Declines {
			declinedInWindows += n
		}
	}
	declined := 0
	for _, n := range rep.Declines {
		declined += n
	}
	if int64(inWindows) != rep.Requests || declinedInWindows != declined {
		t.Errorf("windows hold %d requests and %d declines; the run %d and %d", inWindows, declinedInWindows, rep.Requests, declined)
	}
	page, err := back.HTML()
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, string(page), true)
	again, _ := back.HTML()
	if !bytes.Equal(page, again) {
		t.Error("the same report gave two different pages")
	}
}

// checkPage checks the page's four charts and their series.
func checkPage(t *testing.T, page string, declines bool) {
	t.Helper()
	for id, series := range map[string][]string{
		"throughput": {"requests", "approved"},
		"latency":    {"p50", "p90", "p99", "max"},
		"histogram":  {"requests"},
	} {
		svg := chartOf(t, page, id)
		for _, s := range series {
			if !regexp.MustCompile(`data-series="` + s + `">(<polyline|<circle|<rect)`).MatchString(svg) {
				t.Errorf("chart #%s: no drawn series %q", id, s)
			}
		}
	}
	codes := chartOf(t, page, "codes")
	if declines && !regexp.MustCompile(`data-series="\d\d [^"]+"><rect`).MatchString(codes) {
		t.Errorf("chart #codes draws no decline:\n%s", codes)
	}
	for _, bad := range []string{"http://", "https://", "<script src", "<link"} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("page is not self-contained: %q", bad)
		}
	}
	if !strings.Contains(page, "prefers-color-scheme: dark") {
		t.Error("page has no dark scheme")
	}
}

func chartOf(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<svg id="`+id+`"`)
	if i < 0 {
		t.Fatalf("page has no <svg id=%q>", id)
	}
	j := strings.Index(page[i:], "</svg>")
	if j < 0 {
		t.Fatalf("chart #%s is not closed", id)
	}
	return page[i : i+j]
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMergeIsExact splits one set of latencies between two generators'
// reports: merged, they give the percentiles of all of them, to the
// microsecond, where an average of the two reports' percentiles does not.
func TestMergeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := newTally(runFigures)
	parts := []*tally{newTally(runFigures), newTally(runFigures)}
	for i := range 50000 {
		us := int64(200 + rng.ExpFloat64()*300)
		if i%97 == 0 {
			us = int64(20000 + rng.IntN(200000)) // a slow tail on one side
		}
		part := parts[0]
		if i%3 == 0 || us > 20000 {
			part = parts[1]
		}
		rc := iso.RCApproved
		if i%50 == 0 {
			rc = "51"
		}
		all.count(us, rc, "")
		part.count(us, rc, "")
	}
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var reps []*Report
	dir := t.TempDir()
	for i, p := range parts {
		r := &Report{Host: "h", Conns: 8, Generators: 1, Start: start, End: start.Add(10 * time.Second), Seconds: 10,
			Requests: p.requests, Approved: p.approved, Declines: p.declines, ErrorKinds: p.errs, Histogram: p.hist, Latency: p.hist.Latency()}
		path := filepath.Join(dir, []string{"a.json", "b.json"}[i])
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		back, err := ReadReport(path)
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, back)
	}
	m, err := MergeReports([]string{"a.json", "b.json"}, reps)
	if err != nil {
		t.Fatal(err)
	}
	if m.Latency != all.hist.Latency() {
		t.Errorf("merged latency %+v; all samples in one histogram %+v", m.Latency, all.hist.Latency())
	}
	for _, q := range []float64{1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100} {
		if got, want := m.Histogram.h.ValueAtQuantile(q), all.hist.h.ValueAtQuantile(q); got != want {
			t.Errorf("p%v: merged %d µs, one histogram %d µs", q, got, want)
		}
	}
	if !m.Histogram.h.Equals(all.hist.h) {
		t.Error("merged histogram differs from the histogram of all samples")
	}
	if avg := (reps[0].Latency.P99 + reps[1].Latency.P99) / 2; avg == m.Latency.P99 {
		t.Errorf("the samples do not tell a merge from an average of p99s (%v)", avg)
	}
	if m.Requests != all.requests || m.Approved != all.approved || m.Declines["51"] != all.declines["51"] || m.Conns != 16 || m.Generators != 2 {
		t.Errorf("merged counts %+v; want %d requests, %d approved, %d declined 51, 16 conns, 2 generators",
			m, all.requests, all.approved, all.declines["51"])
	}
}

// TestMergeWindows merges two runs a window apart: windows line up on the
// earlier start, and their counts and histograms add.
func TestMergeWindows(t *testing.T) {
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	mk := func(at time.Time, n int) *Report {
		ws := &windows{width: time.Second, byIdx: map[int]*tally{}}
		total := newTally(runFigures)
		for i := range 3 {
			w := newTally(windowFigures)
			for range n {
				w.count(int64(100*(i+1)), iso.RCApproved, "")
				total.count(int64(100*(i+1)), iso.RCApproved, "")
			}
			ws.flush(i, w)
		}
		return &Report{Generators: 1, Start: at, End: at.Add(3 * time.Second), Requests: total.requests, Approved: total.approved,
			Histogram: total.hist, WindowSecs: 1, Windows: ws.report(at, 3*time.Second)}
	}
	m, err := MergeReports([]string{"a", "b"}, []*Report{mk(start, 10), mk(start.Add(1100*time.Millisecond), 5)})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, w := range m.Windows {
		got = append(got, w.Requests)
	}
	if want := []int{10, 15, 15, 5}; !slicesEqual(got, want) {
		t.Errorf("merged windows hold %v requests; want %v", got, want)
	}
	// window 2 holds a's second (10 at 200 µs) and b's first (5 at 100 µs)
	if l := m.Windows[1].Latency; l.P50 != 0.2 || l.Max != 0.2 || m.Windows[1].Histogram.h.Min() != 100 {
		t.Errorf("window 2 latency %+v, min %d µs; want p50 and max 0.2 ms, min 100 µs", l, m.Windows[1].Histogram.h.Min())
	}
	other := mk(start, 1)
	other.WindowSecs = 2
	if _, err := MergeReports([]string{"a.json", "c.json"}, []*Report{mk(start, 1), other}); err == nil || !strings.Contains(err.Error(), "c.json") {
		t.Errorf("windows of 1 s and 2 s: err = %v; want c.json named", err)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTIDOffsetAvoidsDuplicates runs two generators at once on one host
// with the same seed, so the same STANs: on the same terminals the host
// answers 94 (duplicate); with offsets, never.
func TestTIDOffsetAvoidsDuplicates(t *testing.T) {
	run := func(addr string, offsets [2]int) []*Report {
		var wg sync.WaitGroup
		reps := make([]*Report, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reps[i], errs[i] = Run(context.Background(), Config{Addr: addr, Conns: 4, Count: 200, Seed: 42, TIDOffset: offsets[i]})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return reps
	}
	same := run(startHost(t), [2]int{0, 0})
	if same[0].Declines[iso.RCDuplicate]+same[1].Declines[iso.RCDuplicate] == 0 {
		t.Fatalf("two generators on LOAD0001-LOAD0004 with one seed got no 94: the test cannot see a collision (%v, %v)", same[0].Declines, same[1].Declines)
	}
	apart := run(startHost(t), [2]int{0, 4})
	for i, r := range apart {
		if r.Declines[iso.RCDuplicate] > 0 || r.Approved != 200 {
			t.Errorf("generator %d (%s): %d approved, declines %v; want 200 approved, no 94", i+1, r.Terminals, r.Approved, r.Declines)
		}
	}
	if apart[1].Terminals != "LOAD0005-LOAD0008" {
		t.Errorf("offset 4: terminals %s; want LOAD0005-LOAD0008", apart[1].Terminals)
	}
}

func TestTIDOffsetOutOfRange(t *testing.T) {
	for _, c := range []struct {
		offset, conns int
		want          string
	}{
		{1000, 32, "LOAD0001-LOAD1024"},
		{1000, 32, "at most 992"},
		{-1, 2, "negative"},
	} {
		_, err := Run(context.Background(), Config{Addr: "127.0.0.1:1", Conns: c.conns, Count: 1, TIDOffset: c.offset})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("offset %d, %d conns: err = %v; want %q", c.offset, c.conns, err, c.want)
		}
	}
}

// TestReadReportRejects: a file that is not a report, or whose counts
// disagree with its histogram, is refused with its name.
func TestReadReportRejects(t *testing.T) {
	dir := t.TempDir()
	h := newHistogram(runFigures)
	h.record(100)
	hj, _ := json.Marshal(h)
	for name, body := range map[string]string{
		"nohist.json":   `{"requests": 1}`,
		"count.json":    `{"requests": 2, "histogram": ` + string(hj) + `}`,
		"garbage.json":  `{"requests": 1, "histogram": {"unit":"us","count":1,"format":"hdrhistogram-v2-compressed-base64","data":"AAAA"}}`,
		"notjson.json":  `host: x`,
		"badunit.json":  `{"requests": 1, "histogram": {"unit":"ms","count":1,"format":"hdrhistogram-v2-compressed-base64","data":"x"}}`,
		"badcount.json": strings.Replace(`{"requests": 1, "histogram": `+string(hj)+`}`, `"count":1`, `"count":5`, 1),
	} {
		path := filepath.Join(dir, name)
		if err := writeFileAtomic(path, []byte(body)); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadReport(path); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v; want an error naming the file", name, err)
		}
	}
}
