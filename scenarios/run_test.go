package scenarios

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
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

// TestSameSeedSameTimeline runs the whole suite (but its @wired real-time
// scenarios) twice with the same seed and
// compares the saved timelines byte for byte.
func TestSameSeedSameTimeline(t *testing.T) {
	feature := filepath.Join("..", "features")
	run := func(dir string) {
		synctest.Test(t, func(t *testing.T) {
			var out bytes.Buffer
			res, err := Run(context.Background(), Options{Paths: []string{feature}, Output: &out, Format: "progress",
				Tags: "~@wired", Seed: 42, TimelineDir: dir, TempDir: t.TempDir(), Synchronous: "NORMAL", Settle: synctest.Wait})
			if err != nil || res.Status != 0 {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
		})
	}
	a, b := t.TempDir(), t.TempDir()
	run(a)
	run(b)
	files, _ := filepath.Glob(filepath.Join(a, "*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no timelines written")
	}
	for _, f := range files {
		x, _ := os.ReadFile(f)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if err != nil {
			t.Fatal(err)
		}
		if len(x) == 0 {
			t.Errorf("%s is empty", filepath.Base(f))
		}
		if d := cmp.Diff(string(x), string(y)); d != "" {
			t.Errorf("%s differs between two runs with seed 42:\n%s", filepath.Base(f), d)
		}
	}
}
