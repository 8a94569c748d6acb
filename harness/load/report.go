package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// WriteFile writes the report as indented JSON, through a temporary file
// renamed into place, so a reader never sees half a report.
func (r *Report) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("load report %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func writeFileAtomic(path string, b []byte) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating the folder of %s: %w", path, err)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // gone after the rename; cleans up after a failure
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ReadReport reads a report written by possim load --report (or load
// merge --report) and checks that its counts agree with its histogram.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading load report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("load report %s: %w", path, err)
	}
	if r.Histogram == nil {
		return nil, fmt.Errorf("load report %s has no histogram: write it with possim load --report", path)
	}
	if n := r.Histogram.Count(); n != r.Requests {
		return nil, fmt.Errorf("load report %s: %d requests but %d latencies in its histogram", path, r.Requests, n)
	}
	for i, w := range r.Windows {
		if w.Histogram == nil || w.Histogram.Count() != int64(w.Requests) {
			return nil, fmt.Errorf("load report %s: window %d (from %.0f s) holds %d requests but %d latencies", path, i+1, w.Start, w.Requests, w.Histogram.Count())
		}
	}
	if r.Declines == nil {
		r.Declines = map[string]int{}
	}
	if r.ErrorKinds == nil {
		r.ErrorKinds = map[string]int{}
	}
	return &r, nil
}

// MergeReports adds the runs of several generators into one report: counts
// are summed, latency histograms merged bucket by bucket, so the merged
// percentiles are those of every request of every run, not an average of
// percentiles. The merged run spans from the earliest start to the latest
// end, and its throughput is over that span. Windows are placed on the
// earliest start's window boundaries, each report's shifted by a whole
// number of windows (the nearest), so the reports must share one window
// length; with clocks that agree, a window lands within half a window of
// where it ran. names label the reports in errors.
func MergeReports(names []string, reps []*Report) (*Report, error) {
	if len(reps) == 0 {
		return nil, errors.New("no reports to merge")
	}
	out := &Report{Start: reps[0].Start, End: reps[0].End, Declines: map[string]int{}, ErrorKinds: map[string]int{}}
	total := newTally(runFigures)
	var hosts, terms []string
	for i, r := range reps {
		if r.Histogram == nil {
			return nil, fmt.Errorf("%s: no histogram", names[i])
		}
		if r.WindowSecs != reps[0].WindowSecs {
			return nil, fmt.Errorf("%s has windows of %g s, %s of %g s: merge reports of one window length (possim load --window)", names[i], r.WindowSecs, names[0], reps[0].WindowSecs)
		}
		if err := total.hist.Merge(r.Histogram); err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		out.Conns += r.Conns
		out.Generators += max(r.Generators, 1)
		out.Rate += r.Rate
		out.Requests += r.Requests
		out.Approved += r.Approved
		out.Errors += r.Errors
		addCounts(out.Declines, r.Declines)
		addCounts(out.ErrorKinds, r.ErrorKinds)
		if r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
		hosts = appendNew(hosts, r.Host)
		if r.Terminals != "" {
			terms = append(terms, r.Terminals)
		}
	}
	out.Host = strings.Join(hosts, ",")
	out.Terminals = strings.Join(terms, ",")
	out.Histogram = total.hist
	out.Latency = total.hist.Latency()
	out.Seconds = out.End.Sub(out.Start).Seconds()
	if out.Seconds > 0 {
		out.Throughput = float64(out.Requests) / out.Seconds
		out.ApprovedTPS = float64(out.Approved) / out.Seconds
	}
	if reps[0].WindowSecs > 0 {
		ws, err := mergeWindows(names, reps, out.Start)
		if err != nil {
			return nil, err
		}
		out.WindowSecs, out.Windows = reps[0].WindowSecs, ws
	}
	return out, nil
}

func mergeWindows(names []string, reps []*Report, start time.Time) ([]Window, error) {
	width := time.Duration(reps[0].WindowSecs * float64(time.Second))
	byIdx := map[int]*tally{}
	length := map[int]float64{}
	n := 0
	for i, r := range reps {
		shift := int(math.Round(float64(r.Start.Sub(start)) / float64(width)))
		for j, w := range r.Windows {
			k := j + shift
			t := byIdx[k]
			if t == nil {
				t = newTally(windowFigures)
				byIdx[k] = t
			}
			if err := t.hist.Merge(w.Histogram); err != nil {
				return nil, fmt.Errorf("%s: window %d: %w", names[i], j+1, err)
			}
			t.requests += int64(w.Requests)
			t.approved += w.Approved
			t.errors += w.Errors
			addCounts(t.declines, w.Declines)
			addCounts(t.errs, w.ErrorKinds)
			length[k] = max(length[k], w.Seconds)
			n = max(n, k+1)
		}
	}
	out := make([]Window, n)
	for k := range out {
		t := byIdx[k]
		if t == nil {
			t = newTally(windowFigures)
		}
		from, l := time.Duration(k)*width, time.Duration(length[k]*float64(time.Second))
		if l == 0 {
			l = width // a gap between the runs' windows: a whole window of nothing
		}
		out[k] = t.window(start.Add(from), from, l)
	}
	return out, nil
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
