package scenarios

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cucumber/godog"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/profile"
)

// RegisterOption configures Register.
type RegisterOption func(*registration)

type registration struct {
	opts Options
	lab  *harness.Lab
}

// WithProfile builds each scenario's lab from p instead of the embedded
// default profile.
func WithProfile(p *profile.Profile) RegisterOption {
	return func(r *registration) { r.opts.Profile = p }
}

// WithSeed is the seed each scenario's seed is derived from (from it, the
// feature file and the scenario name), so a scenario sees the same RRNs
// and card data run after run. The default is 0.
func WithSeed(seed uint64) RegisterOption { return func(r *registration) { r.opts.Seed = seed } }

// WithLogger sends the labs' logs to l; by default they are discarded.
func WithLogger(l *slog.Logger) RegisterOption { return func(r *registration) { r.opts.Logger = l } }

// WithTempDir makes each scenario's lab directory (ledger, ptys) inside
// dir instead of the system's temporary directory; it is removed when the
// scenario ends.
func WithTempDir(dir string) RegisterOption { return func(r *registration) { r.opts.TempDir = dir } }

// UseLab runs every scenario against lab instead of building one per
// scenario. Register neither resets nor closes it: scenarios see what the
// last one left (a signed-on terminal, a ledger with its sales), and must
// not run concurrently. possimtest.Lab.Harness gives one.
func UseLab(lab *harness.Lab) RegisterOption { return func(r *registration) { r.lab = lab } }

// Register adds possim's steps (every step of Vocabulary, as `possim steps`
// lists them) to a godog scenario context, next to the suite's own steps,
// and the hooks that give each scenario its lab: a fresh one per scenario
// (a host with its own ledger, the four devices, a terminal, in memory; a
// scenario tagged @wired gets loopback TCP and real ptys), closed when the
// scenario ends, or the one UseLab gives.
//
// Call it from the suite's ScenarioInitializer. The suite's own steps
// reach the scenario's lab through FromContext. Register is possim's
// stable entry point for other godog suites (docs/library.md); `possim
// run` adds its reports on top of the same steps.
func Register(sc *godog.ScenarioContext, opts ...RegisterOption) {
	r := &registration{opts: Options{Synchronous: "NORMAL"}}
	for _, o := range opts {
		o(r)
	}
	for _, s := range Vocabulary() {
		sc.Step(s.Pattern, s.Fn)
	}
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		w, err := r.world(ctx, s)
		if err != nil {
			return ctx, fmt.Errorf("starting the possim lab of %q: %w", s.Name, err)
		}
		return context.WithValue(ctx, worldKey{}, w), nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		w, _ := FromContext(ctx)
		if w == nil || r.lab != nil {
			return ctx, nil
		}
		if cerr := w.close(); cerr != nil {
			return ctx, fmt.Errorf("closing the possim lab of %q: %w", s.Name, cerr)
		}
		return ctx, nil
	})
}

func (r *registration) world(ctx context.Context, s *godog.Scenario) (*World, error) {
	if r.lab == nil {
		return newWorld(ctx, &r.opts, s)
	}
	return &World{Lab: r.lab, Profile: r.lab.Profile, Scenario: s.Name, vars: map[string]any{},
		Seed: scenarioSeed(r.opts.Seed, s.Uri, s.Name)}, nil
}

// FromContext is the World of the scenario ctx belongs to, for a suite's
// own steps next to possim's: its Lab, and the values possim's steps keep.
// It is nil and false outside a scenario started by Register or Run.
func FromContext(ctx context.Context) (*World, bool) {
	w, _ := ctx.Value(worldKey{}).(*World)
	return w, w != nil
}
