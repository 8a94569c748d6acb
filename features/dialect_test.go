package features

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"

	"github.com/possim/possim/scenarios"
	"github.com/possim/possim/simulators/iso"
)

// TestFeaturesUnderDialects runs the whole suite with the lab's wire set
// to the BCD dialects: the terminal and host work on typed messages, so
// every scenario must pass on every wire. The suite takes about as long
// per dialect as TestFeatures; -short skips it.
func TestFeaturesUnderDialects(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the suite under each dialect is the long part")
	}
	units, err := scenarios.ScenarioUnits([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nac", "cup"} {
		d, err := iso.LoadDialect(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			for _, u := range units {
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
