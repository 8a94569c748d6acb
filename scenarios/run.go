package scenarios

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/profile"
)

// Options configures a run of feature files.
type Options struct {
	Paths       []string // files or folders; file:line selects one scenario
	Tags        string   // godog tag expression
	Format      string   // godog formats: pretty,junit:FILE,cucumber:FILE
	HTML        string   // write the HTML report here
	TimelineDir string   // write each scenario's timeline as JSONL here
	Seed        uint64
	Concurrency int
	ShardIndex  int // 1-based; 0 means no sharding
	ShardCount  int
	HostAddr    string // external host (certification dry-run)
	DevicesDir  string // external devices (the ptys of possim devices)
	Profile     *profile.Profile
	// TimeScale shrinks every duration of the lab and the steps in real-time
	// runs (1 under go test, where synctest makes time virtual).
	TimeScale       float64
	ResponseTimeout time.Duration
	Output          io.Writer
	Logger          *slog.Logger
	TempDir         string
	Synchronous     string // the ledger's SQLite synchronous setting
	// Settle, when set, is called once the lab has started and after every
	// step; under go test it is synctest.Wait, so that every goroutine of
	// the lab has finished reacting before the next step acts, and the
	// timeline comes out the same, event for event, run after run.
	Settle func()
	// TerminalState is the terminal's state file in external runs (STAN,
	// batch, pending reversals), kept between runs so that a real host's
	// journal never sees a STAN twice; empty: a file for this run only.
	TerminalState string
}

// Result summarises a run.
type Result struct {
	Status    int // godog's: 0 passed, 1 failed, 2 bad options
	Scenarios []harness.ScenarioReport
	Undefined []string
	Elapsed   time.Duration
}

// Passed and Failed count scenarios.
func (r *Result) Passed() int { return r.count("passed") }

// Failed counts failed scenarios.
func (r *Result) Failed() int { return r.count("failed") }

func (r *Result) count(status string) int {
	n := 0
	for _, s := range r.Scenarios {
		if s.Status == status {
			n++
		}
	}
	return n
}

// Run runs the features and writes the reports it was asked for.
func Run(ctx context.Context, o Options) (*Result, error) {
	if len(o.Paths) == 0 {
		o.Paths = []string{"features"}
	}
	if o.Format == "" {
		o.Format = "pretty"
	}
	if o.Output == nil {
		o.Output = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.HostAddr != "" || o.DevicesDir != "" {
		// One real host or device set: scenarios take turns, and the
		// terminal's state carries from one scenario to the next.
		o.Concurrency = 1
		if o.TerminalState == "" {
			dir, err := os.MkdirTemp(o.TempDir, "possim-external-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			o.TerminalState = filepath.Join(dir, "terminal.json")
		}
	}
	paths := o.Paths
	if o.ShardCount > 0 {
		units, err := Units(o.Paths)
		if err != nil {
			return nil, err
		}
		paths = Shard(units, o.ShardIndex, o.ShardCount)
		if len(paths) == 0 {
			fmt.Fprintf(o.Output, "shard %d/%d has no scenarios\n", o.ShardIndex, o.ShardCount)
			return &Result{}, nil
		}
	}
	c := &collector{opts: &o, byID: map[string]*harness.ScenarioReport{}}
	start := time.Now()
	suite := godog.TestSuite{
		Name:                "possim",
		ScenarioInitializer: c.initialize,
		Options: &godog.Options{
			Format: o.Format, Paths: paths, Tags: o.Tags, Concurrency: o.Concurrency,
			Output: o.Output, Strict: true, NoColors: true, DefaultContext: ctx,
		},
	}
	status := suite.Run()
	res := &Result{Status: status, Scenarios: c.reports(), Undefined: c.undefined, Elapsed: time.Since(start)}
	if len(c.undefined) > 0 {
		fmt.Fprintf(o.Output, "\n%d undefined step(s). godog's snippets are above; `possim steps` (or docs/steps.md) lists every step possim knows, with an example.\n", len(c.undefined))
	}
	if o.HTML != "" {
		if err := writeHTML(o.HTML, res, o.Seed); err != nil {
			return res, err
		}
	}
	return res, nil
}

func writeHTML(path string, res *Result, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	sum := harness.RunSummary{Title: "possim run", Seed: int64(seed), Passed: res.Passed(), Failed: res.Failed(),
		Elapsed: res.Elapsed.Round(time.Millisecond).String()}
	sum.Other = len(res.Scenarios) - sum.Passed - sum.Failed
	if err := harness.WriteHTML(f, sum, res.Scenarios); err != nil {
		f.Close()
		return fmt.Errorf("html report: %w", err)
	}
	return f.Close()
}

// collector builds the per-scenario reports from godog's hooks.
type collector struct {
	opts      *Options
	mu        sync.Mutex
	byID      map[string]*harness.ScenarioReport
	order     []string
	undefined []string
}

func (c *collector) reports() []harness.ScenarioReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]harness.ScenarioReport, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, *c.byID[id])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out
}

func (c *collector) initialize(sc *godog.ScenarioContext) {
	for _, s := range Vocabulary() {
		sc.Step(s.Pattern, s.Fn)
	}
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		c.mu.Lock()
		c.byID[s.Id] = &harness.ScenarioReport{Name: s.Name, URI: s.Uri, Feature: featureName(s.Uri), Status: "passed"}
		c.order = append(c.order, s.Id)
		c.mu.Unlock()
		w, err := newWorld(ctx, c.opts, s)
		if err != nil {
			return ctx, fmt.Errorf("starting the lab: %w", err)
		}
		c.mu.Lock()
		w.report = c.byID[s.Id]
		c.mu.Unlock()
		if c.opts.Settle != nil {
			c.opts.Settle()
		}
		return context.WithValue(ctx, worldKey{}, w), nil
	})
	sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
		if c.opts.Settle != nil {
			c.opts.Settle()
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		sr := harness.StepReport{Text: st.Text, Status: status.String()}
		if err != nil {
			sr.Error = err.Error()
		}
		if status == godog.StepUndefined {
			c.undefined = append(c.undefined, st.Text)
		}
		if r := c.current(ctx); r != nil {
			r.Steps = append(r.Steps, sr)
			if status != godog.StepPassed && r.Status == "passed" {
				r.Status = status.String()
			}
			if err != nil && r.Error == "" {
				r.Error = err.Error()
			}
		}
		return ctx, nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		w, _ := ctx.Value(worldKey{}).(*World)
		c.mu.Lock()
		r := c.byID[s.Id]
		c.mu.Unlock()
		if err != nil && r.Status == "passed" {
			r.Status = "failed"
			r.Error = err.Error()
		}
		if w == nil {
			return ctx, nil
		}
		r.Ladder, r.Dropped = w.Lab.Recorder.Ladder(), w.Lab.Recorder.Dropped()
		if w.Lab.Printer != nil {
			for _, rc := range w.Lab.Printer.Receipts() {
				r.Receipts = append(r.Receipts, rc.Text)
			}
		}
		r.Ledger = ledgerLines(ctx, w)
		if c.opts.TimelineDir != "" {
			if werr := writeTimeline(c.opts.TimelineDir, s, w); werr != nil {
				return ctx, werr
			}
		}
		if cerr := w.close(); cerr != nil {
			return ctx, fmt.Errorf("closing the lab: %w", cerr)
		}
		return ctx, nil
	})
}

// current is the report of the scenario whose world ctx holds. Called
// with c.mu held.
func (c *collector) current(ctx context.Context) *harness.ScenarioReport {
	if w, _ := ctx.Value(worldKey{}).(*World); w != nil {
		return w.report
	}
	return nil
}

func featureName(uri string) string {
	base := filepath.Base(strings.SplitN(uri, ":", 2)[0])
	return strings.TrimSuffix(base, ".feature")
}

func writeTimeline(dir string, s *godog.Scenario, w *World) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := strings.NewReplacer("/", "_", ":", "_", " ", "_").Replace(s.Uri + "_" + s.Name)
	f, err := os.Create(filepath.Join(dir, name+".jsonl"))
	if err != nil {
		return err
	}
	if err := w.Lab.Recorder.WriteJSONL(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Unit is one scenario of a feature file: file:line and its tags (the
// feature's and its own).
type Unit struct {
	Ref  string
	Tags []string
}

// HasTag says whether the unit carries a tag such as "@wired".
func (u Unit) HasTag(tag string) bool {
	for _, t := range u.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Units lists every scenario of the paths as file:line, sorted, an outline
// counting once: the units that shards split and go test runs one by one.
func Units(paths []string) ([]string, error) {
	us, err := ScenarioUnits(paths)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Ref
	}
	return out, nil
}

// ScenarioUnits is Units with each scenario's tags.
func ScenarioUnits(paths []string) ([]Unit, error) {
	var units []Unit
	for _, p := range paths {
		p, _, _ = strings.Cut(p, ":")
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".feature") {
				return nil
			}
			us, err := scanFeature(path)
			units = append(units, us...)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("listing scenarios: %w", err)
		}
	}
	sort.Slice(units, func(i, j int) bool { return units[i].Ref < units[j].Ref })
	return units, nil
}

// scanFeature finds the scenario lines and tags of a feature file without
// a full Gherkin parse: tags are the @words on the lines just above.
func scanFeature(path string) ([]Unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		units       []Unit
		featureTags []string
		pending     []string
		inFeature   bool
	)
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		t := strings.TrimSpace(s.Text())
		switch {
		case strings.HasPrefix(t, "@"):
			pending = append(pending, strings.Fields(t)...)
		case strings.HasPrefix(t, "Feature:"):
			featureTags, pending, inFeature = pending, nil, true
		case inFeature && (strings.HasPrefix(t, "Scenario:") || strings.HasPrefix(t, "Scenario Outline:") ||
			strings.HasPrefix(t, "Scenario Template:") || strings.HasPrefix(t, "Example:")):
			tags := append(append([]string(nil), featureTags...), pending...)
			units = append(units, Unit{Ref: path + ":" + strconv.Itoa(n), Tags: tags})
			pending = nil
		case t == "" || strings.HasPrefix(t, "#"):
		default:
			if !strings.HasPrefix(t, "Examples:") {
				pending = nil
			}
		}
	}
	return units, s.Err()
}

// Shard returns the units of shard i of n (1-based), dealt round-robin
// over the sorted units so every unit lands in exactly one shard.
func Shard(units []string, i, n int) []string {
	var out []string
	for k, u := range units {
		if k%n == i-1 {
			out = append(out, u)
		}
	}
	return out
}

// ParseShard reads "i/n".
func ParseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("bad shard %q: write it as i/n with 1 <= i <= n, e.g. 2/3", s)
	}
	return i, n, nil
}
