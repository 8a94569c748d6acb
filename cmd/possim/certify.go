package main

import (
	"context"
	"fmt"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/scenarios"
)

func init() {
	register("certify", "certify a real terminal: possim is the host, a plan of cases drives the terminal", runCertify)
}

const certifyExample = `possim certify --listen 0.0.0.0:8583 --plan features/certify --html out/certify.html --format junit:out/certify.xml
  possim certify --listen 127.0.0.1:8583 --plan features/certify --operator './drive-terminal.sh' --timeout 30s`

func runCertify(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "certify", certifyExample)
	listen := fs.String("listen", "127.0.0.1:8583", "`ADDR` the host listens on; point the terminal under test at it")
	plan := fs.String("plan", "", "the test plan: a `DIR` or .feature file of @certify cases (e.g. features/certify)")
	operator := fs.String("operator", "", "run `CMD` (sh -c) once per prompt, the prompt in POSSIM_OP, POSSIM_AMOUNT, POSSIM_CARD, POSSIM_ENTRY, POSSIM_PIN, POSSIM_STAN, POSSIM_CODE, POSSIM_SECONDS, POSSIM_ECHO_IDLE, POSSIM_HOST; default: prompts on the console")
	html := fs.String("html", "", "write the HTML certification report to `FILE`")
	format := fs.String("format", "pretty", "formats, comma separated; name:FILE writes to a file (pretty, progress, junit, cucumber)")
	timeout := fs.Duration("timeout", scenarios.DefaultCertifyTimeout, "how long a prompt waits for the terminal's message (and an operator command may run)")
	tags := fs.String("tags", "", "run only the cases this godog tag expression selects, e.g. '@reversal'")
	profilePath := fs.String("profile", "", "host profile `FILE`: the terminal's ID, merchant and test cards (default: the embedded one)")
	db := fs.String("db", "", "the host's ledger `PATH` (default: a new one for this run)")
	seed := fs.Uint64("seed", 1, "seed of the host's RRNs, authorisation codes and session keys")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q (the plan goes after --plan)", fs.Arg(0))
	}
	if *plan == "" {
		return usageErr("--plan DIR is required (the certification plan, e.g. features/certify)")
	}
	if *timeout <= 0 {
		return usageErr("--timeout %v: give a positive duration, e.g. 60s", *timeout)
	}
	o := scenarios.CertifyOptions{Listen: *listen, Plan: []string{*plan}, Tags: *tags, Operator: *operator,
		Format: *format, HTML: *html, Timeout: *timeout, DB: *db, Seed: *seed, Output: env.Stdout, Console: env.Stdout}
	if *profilePath != "" {
		p, err := profile.Load(*profilePath)
		if err != nil {
			return usageErr("%v", err)
		}
		o.Profile = p
	}
	start := time.Now()
	res, err := scenarios.RunCertify(ctx, o)
	if err != nil {
		if res == nil {
			return usageErr("%v", err)
		}
		return failErr("%v", err)
	}
	switch {
	case res.Empty():
		return failErr("no @certify case in %s (tags %q)", *plan, *tags)
	case res.Status == 0:
		fmt.Fprintf(env.Stderr, "possim certify: %d cases passed in %s\n", res.Passed(), time.Since(start).Round(time.Millisecond))
		return nil
	case res.Status == 1:
		return failErr("%d of %d cases did not pass", len(res.Scenarios)-res.Passed(), len(res.Scenarios))
	default:
		return usageErr("godog refused the options (see above)")
	}
}

// certifyPlan says whether the paths hold @certify cases, which possim run
// leaves out.
func certifyPlan(paths []string) bool {
	units, err := scenarios.ScenarioUnits(paths)
	if err != nil {
		return false
	}
	for _, u := range units {
		if u.HasTag("@certify") {
			return true
		}
	}
	return false
}
