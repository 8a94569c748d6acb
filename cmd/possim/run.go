package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/scenarios"
)

func init() {
	register("run", "run Gherkin features against a lab (godog)", runRun)
	register("steps", "print every step possim knows, with an example", runSteps)
}

func runRun(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "run", `possim run features/ --tags '~@wired' --format pretty,junit:out/junit.xml,cucumber:out/cucumber.json --html out/report.html --seed 42`)
	tags := fs.String("tags", "", "godog tag expression, e.g. '@transactions && ~@wired'")
	format := fs.String("format", "pretty", "godog formats, comma separated; name:FILE writes to a file (pretty, progress, junit, cucumber)")
	html := fs.String("html", "", "write the self-contained HTML report here")
	timeline := fs.String("timeline", "", "write each scenario's timeline as JSONL into this folder")
	seed := fs.Uint64("seed", 1, "seed of the run; the same seed gives the same timelines")
	conc := fs.Int("concurrency", scenarios.DefaultConcurrency(), "scenarios run at once, each in its own lab (1: one after another; --host and --devices always run one at a time)")
	shard := fs.String("shard", "", "run shard i of n (e.g. 2/3) for a CI matrix")
	host := fs.String("host", "", "run the terminal-side scenarios against this external host (certification dry-run)")
	devices := fs.String("devices", "", "use the ptys of possim devices in this folder instead of in-process devices")
	control := fs.String("control", "", "with --devices: the control API of that possim devices (`ADDR` of its --control); the device steps act and read through it (token: POSSIM_TOKEN)")
	pos := fs.String("pos", "lab", "with --devices and --control: where the POS software is; lab (the lab's terminal opens the ptys) or external (real POS software sits on them: no terminal, no host, only @external-pos scenarios)")
	profilePath := fs.String("profile", "", "lab profile (default: the embedded one)")
	scale := fs.Float64("time-scale", 0.05, "shrink every timeout and delay by this factor (real time; 1 is faithful)")
	dialectName := fs.String("dialect", "", dialectUsage+"; the lab's terminal and host speak it")
	dash := fs.String("dashboard", "", "serve the live dashboard of each scenario's lab on `ADDR` while the run lasts (scenarios then run one at a time)")
	state := fs.String("state", "possim-terminal.json", "with --host: the terminal's state file (STAN, batch), kept between runs as a real terminal keeps it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Flags may follow paths: possim run features/ --seed 3.
	var paths []string
	rest := fs.Args()
	for len(rest) > 0 {
		if strings.HasPrefix(rest[0], "-") {
			if err := parseFlags(fs, rest); err != nil {
				return err
			}
			rest = fs.Args()
			continue
		}
		paths = append(paths, rest[0])
		rest = rest[1:]
	}
	if *conc < 1 {
		return usageErr("--concurrency %d: give 1 or more", *conc)
	}
	if *scale <= 0 || *scale > 1 {
		return usageErr("--time-scale %v: give a factor above 0 and at most 1", *scale)
	}
	if *control != "" && *devices == "" {
		return usageErr("--control %s: give --devices DIR as well, the folder of that possim devices", *control)
	}
	switch *pos {
	case "lab":
	case "external":
		if *devices == "" || *control == "" {
			return usageErr("--pos external: give --devices DIR and --control ADDR as well, the folder and control API of the possim devices the POS sits on")
		}
		if *host != "" {
			return usageErr("--pos external --host %s: the outside POS talks to its own host; leave --host out", *host)
		}
	default:
		return usageErr("--pos %q: valid: lab, external", *pos)
	}
	o := scenarios.Options{Paths: paths, Tags: *tags, Format: *format, HTML: *html, TimelineDir: *timeline,
		Seed: *seed, Concurrency: *conc, HostAddr: *host, DevicesDir: *devices, TimeScale: *scale, Output: env.Stdout,
		TerminalState: *state, ControlAddr: *control, ExternalPOS: *pos == "external"}
	if *control != "" && env.Getenv != nil {
		o.ControlToken = env.Getenv("POSSIM_TOKEN")
	}
	if *shard != "" {
		i, n, err := scenarios.ParseShard(*shard)
		if err != nil {
			return usageErr("%v", err)
		}
		o.ShardIndex, o.ShardCount = i, n
	}
	if *dialectName != "" {
		d, err := loadWire(*dialectName, "")
		if err != nil {
			return usageErr("%v", err)
		}
		o.Dialect = d
	}
	if *profilePath != "" {
		p, err := profile.Load(*profilePath)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		o.Profile = p
	}
	if *dash != "" {
		d, err := startDashboard(*dash, "possim run", env)
		if err != nil {
			return err
		}
		defer d.Close()
		o.OnLab = d.Attach
		o.Concurrency = 1 // the page shows one lab at a time
	}
	start := time.Now()
	res, err := scenarios.Run(ctx, o)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	where := strings.Join(o.Paths, " ")
	if where == "" {
		where = "features"
	}
	switch {
	case res.Empty() && *pos != "external" && strings.Contains(*tags, "@"+scenarios.TagExternalPOS):
		return failErr("no scenario matches the tags %q in %s: @%s scenarios run only with --pos external (with --devices and --control)", *tags, where, scenarios.TagExternalPOS)
	case res.Empty() && *tags != "":
		return failErr("no scenario matches the tags %q in %s", *tags, where)
	case res.Empty() && certifyPlan(o.Paths):
		return failErr("no scenario in %s for possim run: its @certify cases test a real terminal; run them with possim certify --plan (docs/certify.md)", where)
	case res.Empty():
		return failErr("no scenario in %s", where)
	case res.Status == 0:
		fmt.Fprintf(env.Stderr, "possim run: %d scenarios passed in %s\n", res.Passed(), time.Since(start).Round(time.Millisecond))
		return nil
	case res.Status == 1:
		return failErr("%d of %d scenarios did not pass", len(res.Scenarios)-res.Passed(), len(res.Scenarios))
	default:
		return usageErr("godog refused the options (see above)")
	}
}

func runSteps(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "steps", `possim steps --json`)
	asJSON := fs.Bool("json", false, "print the steps as JSON")
	markdown := fs.Bool("markdown", false, "print docs/steps.md")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	steps := scenarios.Vocabulary()
	switch {
	case *asJSON:
		type out struct {
			Domain  string `json:"domain"`
			Pattern string `json:"pattern"`
			Example string `json:"example"`
			Help    string `json:"help,omitempty"`
		}
		list := make([]out, len(steps))
		for i, s := range steps {
			list[i] = out{s.Domain, s.Pattern, s.Example, s.Help}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	case *markdown:
		_, err := fmt.Fprint(env.Stdout, scenarios.Markdown())
		return err
	}
	domain := ""
	for _, s := range steps {
		if s.Domain != domain {
			domain = s.Domain
			fmt.Fprintf(env.Stdout, "\n# %s\n", domain)
		}
		fmt.Fprintf(env.Stdout, "  %s\n      e.g. %s\n", s.Pattern, s.Example)
	}
	return nil
}
