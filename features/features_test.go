// Package features runs every Gherkin feature of possim under go test:
// each scenario in its own testing/synctest bubble, so the 30- and
// 60-second host timeouts of the scenarios cost microseconds of wall time.
// Scenarios tagged @wired use loopback TCP and real ptys and run in real
// time, outside any bubble.
package features

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/possim/possim/scenarios"
)

func TestFeatures(t *testing.T) {
	units, err := scenarios.ScenarioUnits([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if len(units) == 0 {
		t.Fatal("no scenarios found")
	}
	var simulated time.Duration
	for _, u := range units {
		t.Run(u.Ref, func(t *testing.T) {
			var (
				out bytes.Buffer
				res *scenarios.Result
				err error
			)
			dir := t.TempDir()
			o := scenarios.Options{Paths: []string{u.Ref}, Output: &out, Format: "pretty", Seed: 1, TempDir: dir, Synchronous: "NORMAL"}
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
		})
	}
	t.Logf("%d scenarios; simulated time covered in bubbles: %v", len(units), simulated)
}
