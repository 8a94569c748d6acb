package features

import (
	"bytes"
	"context"
	"os"
	"testing"
	"testing/synctest"

	"github.com/possim/possim/scenarios"
	"github.com/possim/possim/simulators/iso"
)

// TestFeaturesUnderDialects runs the suite with the lab's wire set to the
// BCD dialects: the terminal and host work on typed messages, so every
// scenario must pass on every wire. The whole suite costs about 1.7 times
// TestFeatures per dialect, so by default each dialect runs every fourth
// scenario (nac from the first, cup from the third: half the suite in
// all, every feature folder); POSSIM_DIALECT_SUITE=all runs all of them
// under both, as `possim run --dialect nac features/` does.
func TestFeaturesUnderDialects(t *testing.T) {
	found, err := scenarios.ScenarioUnits([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	// The @external-pos scenarios need POS software outside the lab.
	var units []scenarios.Unit
	for _, u := range found {
		if !u.HasTag("@external-pos") {
			units = append(units, u)
		}
	}
	all := os.Getenv("POSSIM_DIALECT_SUITE") == "all"
	for k, name := range []string{"nac", "cup"} {
		d, err := iso.LoadDialect(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			for i, u := range units {
				// The @certify plan runs under possim certify, not in a lab.
				if u.HasTag("@certify") || (!all && i%4 != 2*k) {
					continue
				}
				t.Run(u.Ref, func(t *testing.T) {
					var out bytes.Buffer
					var res *scenarios.Result
					o := scenarios.Options{Paths: []string{u.Ref}, Output: &out, Format: "pretty", Seed: 1,
						TempDir: t.TempDir(), Synchronous: "NORMAL", Dialect: d}
					if u.HasTag("@wired") {
						res, err = scenarios.Run(context.Background(), o)
					} else {
						synctest.Test(t, func(t *testing.T) {
							o.Settle = synctest.Wait
							res, err = scenarios.Run(context.Background(), o)
						})
					}
					if err != nil {
						t.Fatal(err)
					}
					if res.Status != 0 {
						t.Errorf("scenario failed under %s:\n%s", name, out.String())
					}
				})
			}
		})
	}
}
