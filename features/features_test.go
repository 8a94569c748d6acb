// Package features runs every Gherkin feature of possim under go test:
// each scenario in its own testing/synctest bubble, so the 30- and
// 60-second host timeouts of the scenarios cost microseconds of wall time.
// Scenarios tagged @wired use loopback TCP and real ptys and run in real
// time, outside any bubble.
package features

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/possim/possim/scenarios"
)

// rerunEvery picks the scenarios run a second time to prove that the same
// seed gives the same timeline: every fifth one, so that the proof covers
// every feature folder at a fifth of the suite's cost.
const rerunEvery = 5

func TestFeatures(t *testing.T) {
	all, err := scenarios.ScenarioUnits([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	// The @certify plan (certify/) tests a real terminal against the
	// possim host; possim certify runs it, cmd/possim's tests run it.
	// The @external-pos scenarios are the customer of POS software outside
	// possim run (run --pos external); cmd/possim's tests run them too.
	var units []scenarios.Unit
	for _, u := range all {
		if !u.HasTag("@certify") && !u.HasTag("@external-pos") {
			units = append(units, u)
		}
	}
	if len(units) == 0 {
		t.Fatal("no scenarios found")
	}
	timelines := t.TempDir()
	var simulated time.Duration
	run := func(t *testing.T, u scenarios.Unit, timelineDir string) {
		var (
			out bytes.Buffer
			res *scenarios.Result
			err error
		)
		dir := t.TempDir()
		o := scenarios.Options{Paths: []string{u.Ref}, Output: &out, Format: "pretty", Seed: 1, TempDir: dir,
			Synchronous: "NORMAL", TimelineDir: timelineDir}
		if u.HasTag("@wired") {
			res, err = scenarios.Run(context.Background(), o)
		} else {
			synctest.Test(t, func(t *testing.T) {
				o.Settle = synctest.Wait
				start := time.Now()
				res, err = scenarios.Run(context.Background(), o)
				simulated += time.Since(start)
			})
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != 0 {
			t.Errorf("scenario failed:\n%s", out.String())
		}
	}
	for i, u := range units {
		t.Run(u.Ref, func(t *testing.T) { run(t, u, filepath.Join(timelines, "first", fmt.Sprint(i))) })
	}
	t.Logf("%d scenarios; simulated time covered in bubbles: %v", len(units), simulated)

	// The timelines of @wired scenarios follow real time and may differ.
	t.Run("same seed, same timeline", func(t *testing.T) {
		compared := 0
		for i, u := range units {
			if i%rerunEvery != 0 || u.HasTag("@wired") {
				continue
			}
			first, second := filepath.Join(timelines, "first", fmt.Sprint(i)), filepath.Join(timelines, "second", fmt.Sprint(i))
			run(t, u, second)
			files, _ := filepath.Glob(filepath.Join(first, "*.jsonl"))
			if len(files) == 0 {
				t.Errorf("%s: no timeline written", u.Ref)
			}
			for _, f := range files {
				x, _ := os.ReadFile(f)
				y, err := os.ReadFile(filepath.Join(second, filepath.Base(f)))
				if err != nil {
					t.Fatalf("%s: %v", u.Ref, err)
				}
				if len(x) == 0 {
					t.Errorf("%s: %s is empty", u.Ref, filepath.Base(f))
				}
				if d := cmp.Diff(string(x), string(y)); d != "" {
					t.Errorf("%s: %s differs between two runs with seed 1:\n%s", u.Ref, filepath.Base(f), d)
				}
				compared++
			}
		}
		t.Logf("%d timelines compared", compared)
	})
}
