package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
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
	// ControlAddr is the control API of those devices (possim devices
	// --control): the device steps act and read through it. ControlToken
	// is its token, if any.
	ControlAddr  string
	ControlToken string
	// ExternalPOS, with DevicesDir and ControlAddr, says the POS software
	// sits on those ptys itself (possim run --pos external): the labs
	// start no terminal and no host, only the @external-pos scenarios
	// run, and a step that needs the lab's terminal fails (ErrOutsidePOS).
	ExternalPOS bool
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

	// certify, set by RunCertify, runs the plan's steps against its host
	// instead of the lab's; other runs leave the @certify plan out.
	certify *certifySession

	// Dialect is the wire between the lab's terminal and host (nil:
	// possim87).
	Dialect *iso.Dialect

	// OnLab, if set, is called with each scenario's lab once it has
	// started (possim run --dashboard shows it).
	OnLab func(scenario string, lab *harness.Lab)
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

// DefaultConcurrency is how many scenarios possim run runs at once: four
// per CPU, at least 8 and at most 32. A scenario mostly waits (host
// latency, timeouts, printer polls: scaled down, but real), so several per
// core keep the machine busy. On 2 cores, 8 ran the suite 5.5 times faster
// than 1, 16 no faster than 8, and 4 only 3.4 times faster.
func DefaultConcurrency() int { return min(32, max(8, 4*runtime.GOMAXPROCS(0))) }

// suiteSeq makes each run's godog suite name unique (see runsBySuite).
var suiteSeq atomic.Uint64

// Run runs the features and writes the reports it was asked for. A run in
// which no scenario matches returns Status 1 and no scenarios (Empty).
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
	if err := checkPaths(o.Paths); err != nil {
		return nil, err
	}
	if o.certify == nil {
		o.Tags = withoutCertify(o.Tags)
	}
	if o.ExternalPOS {
		if o.DevicesDir == "" || o.ControlAddr == "" {
			return nil, errors.New("an outside POS needs the devices it sits on and their control API: give the devices folder and the control address")
		}
		o.Tags = withTag(o.Tags, "@"+TagExternalPOS)
	} else {
		o.Tags = withTag(o.Tags, "~@"+TagExternalPOS)
	}
	format, summary, err := prepareFormats(o.Format)
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{parentDir(o.HTML), o.TimelineDir} {
		if dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("report folder: %w", err)
			}
		}
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
		units, err := ScenarioUnits(o.Paths)
		if err != nil {
			return nil, err
		}
		// Shard what the tags select, so that shards share the work and
		// a filter that selects nothing fails every shard alike.
		var refs []string
		for _, u := range units {
			if matchTags(o.Tags, u.Tags) {
				refs = append(refs, u.Ref)
			}
		}
		if len(refs) == 0 {
			return &Result{Status: 1}, nil
		}
		paths = Shard(refs, o.ShardIndex, o.ShardCount)
		if len(paths) == 0 {
			fmt.Fprintf(o.Output, "shard %d/%d has no scenarios: the %d selected are fewer than the shards\n", o.ShardIndex, o.ShardCount, len(refs))
			return &Result{}, nil
		}
	}
	c := &collector{opts: &o, byID: map[string]*harness.ScenarioReport{}, ast: map[string][]string{}, nodes: map[string]where{}, started: map[string]time.Time{}}
	name := fmt.Sprintf("possim-%d", suiteSeq.Add(1))
	runsBySuite.Store(name, c)
	defer runsBySuite.Delete(name)
	start := time.Now()
	initialize := c.initialize
	if o.certify != nil {
		initialize = c.initializeCertify
	}
	suite := godog.TestSuite{
		Name:                name,
		ScenarioInitializer: initialize,
		Options: &godog.Options{
			Format: format, Paths: paths, Tags: o.Tags, Concurrency: o.Concurrency,
			Output: o.Output, Strict: true, NoColors: true, DefaultContext: ctx,
		},
	}
	status := suite.Run()
	res := &Result{Status: status, Scenarios: c.reports(), Undefined: c.undefinedTexts(), Elapsed: time.Since(start)}
	if status == 0 && len(res.Scenarios) == 0 {
		res.Status = 1
	}
	if summary && len(res.Scenarios) > 0 {
		c.summarize(o.Output, res)
	}
	if o.HTML != "" {
		title := "possim run"
		if o.certify != nil {
			title = "possim certify: terminal certification report"
		}
		if err := writeHTML(o.HTML, title, res, o.Seed); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Empty says no scenario matched the paths and tags.
func (r *Result) Empty() bool { return len(r.Scenarios) == 0 && r.Status == 1 }

// formats are godog's format names possim accepts; pretty and progress
// are possim's own (see text).
var formats = map[string]string{"pretty": "possim-pretty", "progress": "possim-progress",
	"junit": "possim-junit", "cucumber": "cucumber", "events": "events"}

// prepareFormats maps the format list onto the formatters that print it,
// creates the folders of the files it names, and says whether possim
// prints its summary (when pretty or progress goes to the output).
func prepareFormats(list string) (string, bool, error) {
	var parts []string
	summary := false
	for _, f := range strings.Split(list, ",") {
		name, file, toFile := strings.Cut(strings.TrimSpace(f), ":")
		real, ok := formats[name]
		if !ok {
			valid := make([]string, 0, len(formats))
			for n := range formats {
				valid = append(valid, n)
			}
			return "", false, oneOf("format", name, valid)
		}
		if toFile {
			if file == "" {
				return "", false, fmt.Errorf("format %s: name the file after the colon, e.g. %s:out/%s.xml", name, name, name)
			}
			if err := os.MkdirAll(parentDir(file), 0o755); err != nil {
				return "", false, fmt.Errorf("format %s: %w", name, err)
			}
			real += ":" + file
		} else if name == "pretty" || name == "progress" {
			summary = true
		}
		parts = append(parts, real)
	}
	// The index tells where scenarios and steps are written, whatever the
	// formats asked for.
	parts = append(parts, "possim-index")
	return strings.Join(parts, ","), summary, nil
}

func parentDir(file string) string {
	if file == "" {
		return ""
	}
	return filepath.Dir(file)
}

// checkPaths makes sure every feature path exists, so that a typo is a
// usage error and not an empty run.
func checkPaths(paths []string) error {
	for _, p := range paths {
		file := p
		if i := strings.LastIndexByte(p, ':'); i > 0 {
			if _, err := strconv.Atoi(p[i+1:]); err == nil {
				file = p[:i]
			}
		}
		if _, err := os.Stat(file); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("feature path %q: no such file or folder", file)
			}
			return fmt.Errorf("feature path: %w", err)
		}
	}
	return nil
}

func writeHTML(path, title string, res *Result, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	sum := harness.RunSummary{Title: title, Seed: int64(seed), Passed: res.Passed(), Failed: res.Failed(),
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
	ast       map[string][]string // scenario id -> its Gherkin node ids
	order     []string
	undefined []undefinedStep
	nodes     map[string]where     // Gherkin node id -> where it is written
	started   map[string]time.Time // scenario id -> when its Before ran
}

// undefinedStep is a step no pattern matches, and where it is written.
type undefinedStep struct {
	text string
	uri  string
	step *godog.Step
}

func (c *collector) undefinedTexts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, u := range c.undefined {
		out = append(out, u.text)
	}
	return out
}

// reports are the scenarios' reports in file and line order, each URI a
// file:line that reruns the scenario.
func (c *collector) reports() []harness.ScenarioReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	type ordered struct {
		r    harness.ScenarioReport
		file string
		line int
	}
	var list []ordered
	for _, id := range c.order {
		r := *c.byID[id]
		file := r.URI
		var feature string
		feature, _, r.URI = c.describeLocked(file, c.ast[id])
		r.Example = c.exampleLocked(c.ast[id])
		if feature != "" {
			r.Feature = feature
		}
		_, l, _ := strings.Cut(strings.TrimPrefix(r.URI, file), ":")
		line, _ := strconv.Atoi(l)
		list = append(list, ordered{r, file, line})
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].file != list[j].file {
			return list[i].file < list[j].file
		}
		return list[i].line < list[j].line
	})
	out := make([]harness.ScenarioReport, len(list))
	for i, o := range list {
		out[i] = o.r
	}
	return out
}

func (c *collector) initialize(sc *godog.ScenarioContext) {
	for _, s := range Vocabulary() {
		sc.Step(s.Pattern, s.Fn)
	}
	if c.opts.ExternalPOS {
		sc.StepContext().Before(outsideOnly(Vocabulary()))
	}
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		c.mu.Lock()
		c.started[s.Id] = time.Now()
		c.byID[s.Id] = &harness.ScenarioReport{Name: s.Name, URI: s.Uri, Feature: featureName(s.Uri), Status: "passed",
			Tags: pickleTags(s), Started: c.started[s.Id]}
		c.ast[s.Id] = s.AstNodeIds
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
		sr := c.stepReportLocked(st, status.String(), err)
		if status == godog.StepUndefined {
			uri := ""
			if w, _ := ctx.Value(worldKey{}).(*World); w != nil {
				uri = w.report.URI
			}
			c.undefined = append(c.undefined, undefinedStep{text: st.Text, uri: uri, step: st})
		}
		if r := c.current(ctx); r != nil {
			addStep(r, sr, status, err)
		}
		return ctx, nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		w, _ := ctx.Value(worldKey{}).(*World)
		c.mu.Lock()
		r := c.byID[s.Id]
		r.Elapsed = time.Since(c.started[s.Id])
		c.mu.Unlock()
		if err != nil && r.Status == "passed" {
			r.Status = "failed"
			r.Error = err.Error()
		}
		if w == nil {
			return ctx, nil
		}
		r.Ladder, r.Dropped = w.Lab.Recorder.Ladder(), w.Lab.Recorder.Dropped()
		r.SimTime = w.Lab.Recorder.Elapsed()
		if rs, err := w.Lab.Devices.Receipts(ctx); err == nil {
			for _, rc := range rs {
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

// pickleTags are a scenario's tags, its feature's included, as written.
func pickleTags(s *godog.Scenario) []string {
	var tags []string
	for _, t := range s.Tags {
		tags = append(tags, t.Name)
	}
	return tags
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

// addStep adds a finished step to its scenario's report: the first step
// that did not pass sets the scenario's status, the first error its error.
func addStep(r *harness.ScenarioReport, sr harness.StepReport, status godog.StepResultStatus, err error) {
	r.Steps = append(r.Steps, sr)
	if status != godog.StepPassed && r.Status == "passed" {
		r.Status = status.String()
	}
	if err != nil && r.Error == "" {
		r.Error = err.Error()
	}
}
