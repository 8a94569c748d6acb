package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/possim/possim/harness/load"
)

// printedCount reads a count the text report prints ("requests   1234 (...").
func printedCount(t *testing.T, out, name string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", name, out)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// TestLoadReportAndMerge: two real runs on loopback write their reports
// and pages; the reports hold what the runs printed, and load merge adds
// them up.
func TestLoadReportAndMerge(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "out", "b.json")
	code, outA, stderr := runMain("load", "--echo", "--conns", "4", "--duration", "1s", "--report", a, "--html", filepath.Join(dir, "a.html"))
	if code != 0 {
		t.Fatalf("load: exit %d\n%s", code, stderr)
	}
	code, outB, stderr := runMain("load", "--echo", "--conns", "4", "--tid-offset", "4", "--count", "300", "--report", b)
	if code != 0 {
		t.Fatalf("load --tid-offset 4: exit %d\n%s", code, stderr)
	}
	if strings.Contains(outA, "from ") {
		t.Errorf("windows listed though --window was not given:\n%s", outA)
	}
	var total int64
	for _, c := range []struct{ file, out string }{{a, outA}, {b, outB}} {
		r, err := load.ReadReport(c.file)
		if err != nil {
			t.Fatal(err)
		}
		req, ok := printedCount(t, c.out, "requests"), printedCount(t, c.out, "approved")
		if r.Requests != req || r.Approved != ok || r.Errors != printedCount(t, c.out, "errors") || req == 0 {
			t.Errorf("%s: %d requests, %d approved; the run printed %d and %d", filepath.Base(c.file), r.Requests, r.Approved, req, ok)
		}
		if len(r.Windows) == 0 || r.WindowSecs != 1 {
			t.Errorf("%s: %d windows of %v s; want 1 s windows", filepath.Base(c.file), len(r.Windows), r.WindowSecs)
		}
		total += r.Requests
	}
	page, err := os.ReadFile(filepath.Join(dir, "a.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"throughput", "latency", "histogram", "codes"} {
		if !strings.Contains(string(page), `<svg id="`+id+`"`) {
			t.Errorf("a.html has no <svg id=%q>", id)
		}
	}

	m := filepath.Join(dir, "m.json")
	code, out, stderr := runMain("load", "merge", a, b, "--report", m, "--html", filepath.Join(dir, "m.html"))
	if code != 0 {
		t.Fatalf("load merge: exit %d\n%s", code, stderr)
	}
	if got := printedCount(t, out, "requests"); got != total {
		t.Errorf("merge printed %d requests; the runs sent %d\n%s", got, total, out)
	}
	if !strings.Contains(out, "LOAD0001-LOAD0004,LOAD0005-LOAD0008") || !strings.Contains(out, "2 generators merged") {
		t.Errorf("merge output names neither both terminal ranges nor the generators:\n%s", out)
	}
	r, err := load.ReadReport(m)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != total || r.Generators != 2 || r.Conns != 8 {
		t.Errorf("merged report: %d requests, %d generators, %d conns; want %d, 2, 8", r.Requests, r.Generators, r.Conns, total)
	}
	if _, err := os.Stat(filepath.Join(dir, "m.html")); err != nil {
		t.Error(err)
	}
}

func TestLoadBadInput(t *testing.T) {
	dir := t.TempDir()
	notReport := filepath.Join(dir, "x.json")
	os.WriteFile(notReport, []byte(`{"requests": 3}`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"load", "--echo", "--conns", "32", "--tid-offset", "1000", "--count", "1"}, "LOAD0001-LOAD1024"},
		{[]string{"load", "merge"}, "give the reports to merge"},
		{[]string{"load", "--echo", "--count", "1", "--report", filepath.Join(notReport, "r.json")}, "cannot write"},
		{[]string{"load", "merge", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"load", "merge", notReport}, "x.json has no histogram"},
	} {
		code, _, stderr := runMain(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("possim %s: exit %d, stderr %q; want exit 2 naming %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}
