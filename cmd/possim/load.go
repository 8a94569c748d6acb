package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/possim/possim/harness/load"
	"github.com/possim/possim/profile"
	"golang.org/x/term"
)

func init() {
	register("load", "put load on a host: N terminals, a mix, closed or open loop", runLoad)
}

func runLoad(ctx context.Context, args []string, env *Env) error {
	if len(args) > 0 && args[0] == "merge" {
		return runLoadMerge(args[1:], env)
	}
	fs := newFlagSet(env, "load", `possim load --host 127.0.0.1:8583 --conns 32 --duration 30s --report a.json --html a.html
  possim load merge a.json b.json --html all.html   (reports of several generators added up)`)
	host := fs.String("host", "", "host address (required unless --echo)")
	conns := fs.Int("conns", 8, "connections, each its own terminal (LOAD0001...)")
	duration := fs.Duration("duration", 0, "run this long")
	count := fs.Int("count", 0, "or send this many requests")
	rate := fs.Float64("rate", 0, "requests per second over all connections (0: as fast as answered)")
	mixFile := fs.String("mix", "", "mix file (YAML: sale: 80, qr: 10, void: 5, reversal: 3, decline: 2)")
	profileFile := fs.String("profile", "", "profile with the load terminals and cards (default: embedded)")
	echo := fs.Bool("echo", false, "start a bare echo host in this process and load it (the stack's ceiling)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	seed := fs.Uint64("seed", 0, "random seed (0: from the clock)")
	timeout := fs.Duration("timeout", 5*time.Second, "response timeout per request")
	dialectName := fs.String("dialect", "", dialectUsage)
	window := fs.Duration("window", 0, "also report latency per window of this length (soak runs: is p99 steady?); 1s for --report and --html unless given")
	tidOffset := fs.Int("tid-offset", 0, "skip this many load terminals: generators on several machines each take their own (--tid-offset 32: LOAD0033...)")
	reportFile := fs.String("report", "", "write the run as JSON with its latency histogram, for possim load merge")
	htmlFile := fs.String("html", "", "write the run as one HTML page of charts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *duration <= 0 && *count <= 0 {
		return usageErr("give --duration or --count")
	}
	if *host == "" && !*echo {
		return usageErr("give --host ADDR, or --echo for the in-process echo host")
	}
	wire, err := loadWire(*dialectName, "")
	if err != nil {
		return usageErr("%v", err)
	}
	cfg := load.Config{Addr: *host, Dialect: wire, Conns: *conns, Duration: *duration, Count: *count, Rate: *rate, Seed: *seed, Timeout: *timeout, Window: *window,
		TIDOffset: *tidOffset}
	if cfg.Window == 0 && (*reportFile != "" || *htmlFile != "") {
		cfg.Window = time.Second // for the charts; the text report does not list them
	}
	if *profileFile != "" {
		p, err := profile.Load(*profileFile)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		cfg.Profile = p
	}
	if err := load.CheckTerminals(cfg.Profile, cfg.TIDOffset, cfg.Conns); err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := checkOutputs(*reportFile, *htmlFile); err != nil {
		return err
	}
	if *mixFile != "" {
		m, err := load.LoadMix(*mixFile)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		cfg.Mix = m
	}
	if *echo {
		e, err := load.StartEcho("127.0.0.1:0", wire, nil)
		if err != nil {
			return err
		}
		defer e.Close()
		cfg.Addr = e.Addr()
	}
	if f, ok := env.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = func(s load.Snapshot) {
			bar := ""
			if *duration > 0 {
				n := int(20 * s.Elapsed / *duration)
				for i := 0; i < 20; i++ {
					if i < n {
						bar += "#"
					} else {
						bar += "."
					}
				}
			}
			fmt.Fprintf(env.Stderr, "\r[%s] %5.1fs %9d requests %9d approved %6d errors %8.0f/s ", bar, s.Elapsed.Seconds(), s.Requests, s.Approved, s.Errors, float64(s.Requests)/s.Elapsed.Seconds())
		}
		defer fmt.Fprintln(env.Stderr)
	}
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := writeLoadReports(rep, *reportFile, *htmlFile); err != nil {
		return err
	}
	if *window == 0 && !*asJSON {
		rep.Windows = nil
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(env.Stdout)
	return nil
}
