package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBenchHostScript runs scripts/bench-host.sh, which docs/BENCHMARKS.md
// takes its host figures from, for one short round with this test binary as
// possim: every run must serve sales without an error and the table of
// medians must carry a figure in each column.
func TestBenchHostScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs host and load processes for about ten seconds")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("the script reads the load reports with python3")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join("..", "..", "scripts", "bench-host.sh"), self)
	cmd.Env = append(os.Environ(), "POSSIM_AS_MAIN=1", "ROUNDS=1", "SECONDS_PER_RUN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench-host.sh: %v\n%s", err, out)
	}
	text := string(out)
	row := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(filepath.Base(self)) +
		` \| ([\d,]+) \| [\d.]+ / [\d.]+ \| (\d+) µs \| ([\d,]+) \| [\d.]+ \| (\d+) µs \| [\d.]+ \| ([\d,]+) / ([\d,]+) \| [\d.]+ / [\d.]+ \|$`)
	m := row.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no table row of medians for %s in:\n%s", filepath.Base(self), text)
	}
	for i, name := range []string{"32-connection sales/s", "host CPU at 32", "1-connection sales/s", "host CPU at 1", "echo at 32", "echo at 1"} {
		if strings.Trim(m[i+1], "0,") == "" {
			t.Errorf("%s is %s", name, m[i+1])
		}
	}
	if !strings.Contains(text, "errors in all runs: 0") {
		t.Errorf("runs with errors:\n%s", text)
	}
}
