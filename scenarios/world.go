package scenarios

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/google/go-cmp/cmp"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/money"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/terminal"
)

// Step is one entry of the vocabulary: a godog expression, an example of
// its use, and the function behind it. Fn takes the scenario's
// context.Context first.
type Step struct {
	Domain  string
	Pattern string
	Example string
	Help    string
	Fn      any
	// Outside marks a step that only acts on the devices or reads them:
	// it works when the POS software is outside possim run (--pos
	// external), where every other step fails.
	Outside bool
}

// Vocabulary is every step possim defines, by domain, in a stable order.
func Vocabulary() []Step {
	var all []Step
	for _, d := range domains {
		all = append(all, d()...)
	}
	return all
}

// domains lists each domain's steps; every domain file adds its function.
var domains = []func() []Step{labSteps}

type worldKey struct{}

// World is one scenario's state: its lab and what the steps have done.
type World struct {
	Lab      *harness.Lab
	Profile  *profile.Profile
	Scale    float64 // real-time runs shrink every duration by this factor
	Scenario string
	Seed     uint64

	dir    string
	vars   map[string]any
	report *harness.ScenarioReport
}

// world returns the scenario's World; steps call it first.
func world(ctx context.Context) *World {
	w, _ := ctx.Value(worldKey{}).(*World)
	if w == nil {
		panic("scenarios: step run without a lab; register the steps with scenarios.Register (or run them with scenarios.Run)")
	}
	return w
}

// Set and Get keep step-to-step values (the last transaction, a basket).
func (w *World) Set(key string, v any) { w.vars[key] = v }

// Get returns a value Set earlier, or nil.
func (w *World) Get(key string) any { return w.vars[key] }

// D scales a duration for real-time runs (possim run --time-scale).
func (w *World) D(d time.Duration) time.Duration {
	if w.Scale <= 0 || w.Scale == 1 {
		return d
	}
	return time.Duration(float64(d) * w.Scale)
}

// scenarioSeed derives a scenario's seed from the run's, so a scenario's
// timeline does not depend on which shard or order it ran in.
func scenarioSeed(run uint64, uri, name string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%s", run, uri, name)
	return h.Sum64()
}

// parseAmount reads 12.34, ¥12.34 or 1,234.50 through money.Parse, whose
// error names the amount and how to write it.
func parseAmount(s string) (int64, error) { return money.Parse(s) }

// payAmount reads an amount that is paid, refunded or authorised: it must
// be positive as well.
func payAmount(s string) (int64, error) { return money.ParsePositive(s) }

// card looks an alias up in the lab's profile; the error lists the valid ones.
func (w *World) card(alias string) (profile.Card, error) {
	return w.Profile.Card(alias)
}

// diff fails with a go-cmp diff when want and got differ.
func diff(what string, want, got any, opts ...cmp.Option) error {
	if d := cmp.Diff(want, got, opts...); d != "" {
		return fmt.Errorf("%s differs (-want +got):\n%s", what, d)
	}
	return nil
}

// oneOf names a bad argument and lists the valid choices.
func oneOf(what, got string, valid []string) error {
	v := append([]string(nil), valid...)
	sort.Strings(v)
	return fmt.Errorf("unknown %s %q; valid: %s", what, got, strings.Join(v, ", "))
}

// tableRows turns a table with a header row into maps, header -> cell.
func tableRows(t *godog.Table) ([]map[string]string, error) {
	if t == nil || len(t.Rows) < 1 {
		return nil, errors.New("this step needs a table with a header row")
	}
	var head []string
	for _, c := range t.Rows[0].Cells {
		head = append(head, strings.ToLower(strings.TrimSpace(c.Value)))
	}
	var out []map[string]string
	for _, r := range t.Rows[1:] {
		m := map[string]string{}
		for i, c := range r.Cells {
			if i < len(head) {
				m[head[i]] = strings.TrimSpace(c.Value)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// ScenarioStart is when every scenario's clock starts: a Monday morning in
// Shanghai (UTC+8), so dates, expiry checks and statements repeat exactly.
var ScenarioStart = time.Date(2026, 6, 15, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

// newWorld builds the scenario's lab.
func newWorld(ctx context.Context, o *Options, sc *godog.Scenario) (*World, error) {
	dir, err := os.MkdirTemp(o.TempDir, "possim-scenario-")
	if err != nil {
		return nil, err
	}
	p := o.Profile
	if p == nil {
		p = profile.Default()
	} else {
		p = p.Clone()
	}
	// Tags that shape the lab before it starts.
	if hasTag(sc, "@locale-zh") {
		p.Locale = "zh"
	}
	w := &World{Profile: p, Scale: o.TimeScale, Scenario: sc.Name, dir: dir, vars: map[string]any{},
		Seed: scenarioSeed(o.Seed, sc.Uri, sc.Name)}
	mode := harness.Virtual
	if o.HostAddr != "" || o.DevicesDir != "" {
		mode = harness.External
	} else if hasTag(sc, "@wired") {
		mode = harness.Wired
	}
	timeout := o.ResponseTimeout
	if timeout == 0 {
		timeout = w.D(30 * time.Second)
	}
	cfg := harness.Config{Profile: p, Mode: mode, Seed: w.Seed, Dir: dir,
		HostAddr: o.HostAddr, DevicesDir: o.DevicesDir, ControlAddr: o.ControlAddr, ControlToken: o.ControlToken,
		ExternalPOS:     o.ExternalPOS,
		ResponseTimeout: timeout, Logger: o.Logger,
		Synchronous: o.Synchronous, Start: ScenarioStart, Settle: o.Settle, PrinterPoll: w.D(time.Second),
		CardTimeout: w.D(60 * time.Second), Dialect: o.Dialect}
	if o.HostAddr != "" {
		// A real host keeps its journal between scenarios: real dates, and
		// a terminal that goes on from the last scenario's STAN and batch.
		// External devices alone keep nothing the terminal must follow:
		// each scenario has its own host, so its own dates and STANs.
		cfg.Start = time.Time{}
		cfg.TerminalStore = terminal.FileStore(o.TerminalState)
	}
	lab, err := harness.New(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	w.Lab = lab
	if o.OnLab != nil {
		o.OnLab(sc.Name, lab)
	}
	return w, nil
}

func (w *World) close() error {
	err := w.Lab.Close()
	os.RemoveAll(w.dir)
	return err
}

func hasTag(sc *godog.Scenario, tag string) bool {
	for _, t := range sc.Tags {
		if t.Name == tag {
			return true
		}
	}
	return false
}

// labSteps are the steps about the lab itself.
func labSteps() []Step {
	return []Step{
		{Domain: "lab", Pattern: `^a lab with the default profile$`, Example: "Given a lab with the default profile",
			Help: "The embedded profile: Demo Mart, TERM0001, the test cards and products (profile/default.yaml).",
			Fn:   func(ctx context.Context) error { world(ctx); return nil }, Outside: true},
	}
}
