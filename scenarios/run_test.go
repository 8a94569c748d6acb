package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
)

// TestShardsCoverTheSuiteOnce: shards 1/3, 2/3 and 3/3 together hold every
// scenario of the suite exactly once.
func TestShardsCoverTheSuiteOnce(t *testing.T) {
	all, err := Units([]string{"../features"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 10 {
		t.Fatalf("only %d scenarios found under features/", len(all))
	}
	var union []string
	for i := 1; i <= 3; i++ {
		union = append(union, Shard(all, i, 3)...)
	}
	sort.Strings(union)
	if d := cmp.Diff(all, union); d != "" {
		t.Errorf("shards differ from the suite (-suite +shards):\n%s", d)
	}
	for _, bad := range []string{"0/3", "4/3", "1/0", "x", "1-3"} {
		if _, _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

// tinyFeature writes a feature file of quick scenarios into dir: one
// passes, one has a typo in a step, one fails, and an outline of two
// examples, one of which fails.
func tinyFeature(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "tiny.feature")
	const text = `Feature: Tiny

  Scenario: a lab starts
    Given a lab with the default profile

  Scenario: a typo
    Given a lab with default profile
    Then 2 receipts were printed

  Scenario: no receipt
    Given a lab with the default profile
    Then 2 receipts were printed
    And 2 receipts were printed

  Scenario Outline: receipts <n>
    Given a lab with the default profile
    Then <n> receipts were printed

    Examples:
      | n |
      | 0 |
      | 1 |
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runBubbled runs features in a synctest bubble, as go test does.
func runBubbled(t *testing.T, o Options) (*Result, string) {
	t.Helper()
	var (
		out bytes.Buffer
		res *Result
		err error
	)
	synctest.Test(t, func(t *testing.T) {
		o.Output, o.Seed, o.TempDir, o.Synchronous, o.Settle = &out, 1, t.TempDir(), "NORMAL", synctest.Wait
		res, err = Run(context.Background(), o)
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	return res, out.String()
}

// TestRunCreatesReportFolders: every report file lands in a folder that
// did not exist before the run.
func TestRunCreatesReportFolders(t *testing.T) {
	dir := t.TempDir()
	feature := tinyFeature(t, dir)
	out := filepath.Join(dir, "out")
	files := []string{filepath.Join(out, "junit", "junit.xml"), filepath.Join(out, "cucumber", "c.json"), filepath.Join(out, "html", "report.html")}
	res, text := runBubbled(t, Options{Paths: []string{feature + ":3"}, HTML: files[2], TimelineDir: filepath.Join(out, "timelines", "run1"),
		Format: "progress,junit:" + files[0] + ",cucumber:" + files[1]})
	if res.Status != 0 {
		t.Fatalf("status %d:\n%s", res.Status, text)
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err != nil || len(b) == 0 {
			t.Errorf("%s: %v, %d bytes", f, err, len(b))
		}
	}
	if tl, _ := filepath.Glob(filepath.Join(out, "timelines", "run1", "*.jsonl")); len(tl) != 1 {
		t.Errorf("timelines: %v, want one", tl)
	}
}

// TestRunNothingMatches: a tag filter that selects nothing fails the run,
// sharded or not, instead of passing with zero scenarios.
func TestRunNothingMatches(t *testing.T) {
	feature := tinyFeature(t, t.TempDir())
	for _, o := range []Options{
		{Paths: []string{feature}, Tags: "@no-such-tag", Format: "progress"},
		{Paths: []string{feature}, Tags: "@no-such-tag", Format: "progress", ShardIndex: 1, ShardCount: 2},
	} {
		res, text := runBubbled(t, o)
		if res.Status != 1 || len(res.Scenarios) != 0 || !res.Empty() {
			t.Errorf("shard %d/%d: status %d with %d scenarios, want 1 with none:\n%s", o.ShardIndex, o.ShardCount, res.Status, len(res.Scenarios), text)
		}
	}
	if _, err := Run(context.Background(), Options{Paths: []string{filepath.Join(t.TempDir(), "missing")}, Output: io.Discard}); err == nil ||
		!strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing features path gave %v, want an error naming it", err)
	}
}

// TestRunOutput: the pretty output shows no Go source locations and no Go
// snippets; an undefined step gets the nearest known steps, and the end
// names every scenario that did not pass with the file:line that reruns it.
func TestRunOutput(t *testing.T) {
	feature := tinyFeature(t, t.TempDir())
	res, text := runBubbled(t, Options{Paths: []string{feature}, Format: "pretty"})
	if res.Status != 1 || res.Passed() != 2 || res.Failed() != 2 {
		t.Fatalf("status %d, %d passed, %d failed; want 1, 2, 2:\n%s", res.Status, res.Passed(), res.Failed(), text)
	}
	for _, bad := range []string{".go:", "func ", "godog.ErrPending", "snippets"} {
		if strings.Contains(text, bad) {
			t.Errorf("output holds %q:\n%s", bad, text)
		}
	}
	_, end, ok := strings.Cut(text, "did not pass")
	if !ok {
		t.Fatalf("no summary of the scenarios that did not pass:\n%s", text)
	}
	for _, want := range []string{
		feature + ":6   Tiny: a typo (undefined)",
		feature + ":10   Tiny: no receipt (failed)",
		feature + ":22   Tiny: receipts 1 (failed)",
		"\"a lab with default profile\"   " + feature + ":7",
		"did you mean:\n        Given a lab with the default profile\n",
	} {
		if !strings.Contains(end, want) {
			t.Errorf("summary lacks %q:\n%s", want, end)
		}
	}
	if strings.Contains(end, ":3   ") || strings.Contains(end, ":21   ") {
		t.Errorf("summary names a scenario that passed:\n%s", end)
	}
}

// TestRunConcurrentBlocks: scenarios run at once still print one whole
// block each.
func TestRunConcurrentBlocks(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("Feature: Blocks\n")
	for i := range 6 {
		fmt.Fprintf(&b, "\n  Scenario: block %d\n    Given a lab with the default profile\n    Then %d receipts were printed\n    And %d receipts were printed\n", i, i, i)
	}
	path := filepath.Join(dir, "blocks.feature")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Paths: []string{path}, Format: "pretty", Concurrency: 6, Output: &out,
		TimeScale: 0.05, TempDir: t.TempDir()})
	if err != nil || len(res.Scenarios) != 6 {
		t.Fatalf("run: %v, %d scenarios:\n%s", err, len(res.Scenarios), out.String())
	}
	blocks := strings.Split(out.String(), "\n  Scenario: block ")[1:]
	if len(blocks) != 6 {
		t.Fatalf("%d scenario blocks, want 6:\n%s", len(blocks), out.String())
	}
	for _, blk := range blocks {
		n := blk[:1]
		lines := strings.Split(blk, "\n")
		if want := fmt.Sprintf("    Then %s receipts were printed", n); !strings.HasPrefix(lines[2], want) {
			t.Errorf("block %s has a step of another scenario:\n%s", n, blk)
		}
		if want := fmt.Sprintf("    And %s receipts were printed", n); !strings.Contains(blk, want) {
			t.Errorf("block %s lacks its last step:\n%s", n, blk)
		}
	}
}

func TestMatchTags(t *testing.T) {
	tags := []string{"@transactions", "@wired"}
	for _, tt := range []struct {
		expr string
		want bool
	}{
		{"", true},
		{"@wired", true},
		{"~@wired", false},
		{"@transactions && ~@wired", false},
		{"@transactions && @wired", true},
		{"@nope,@wired", true},
		{"@nope", false},
		{"~@nope", true},
	} {
		if got := matchTags(tt.expr, tags); got != tt.want {
			t.Errorf("matchTags(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	for _, tt := range []struct {
		text, want string
	}{
		{"a lab with default profile", "Given a lab with the default profile"},
		{"the customer insert card \"visa-credit\"", "When the customer inserts card \"visa-credit\""},
		{"the printer run out of paper", "Given the printer runs out of paper"},
	} {
		got := Suggest(tt.text, 3)
		if len(got) == 0 || got[0].Example != tt.want {
			t.Errorf("Suggest(%q) = %v, want %q first", tt.text, got, tt.want)
		}
	}
	if got := Suggest("the moon is made of cheese and the terminal sings opera", 3); len(got) != 0 {
		t.Errorf("a step unlike any got suggestions: %v", got)
	}
}
