package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

func init() { register("host", "run the mock acquirer host", runHost) }

const hostExample = `possim host --listen 127.0.0.1:8583 --db host.db --faults faults.yaml --trace trace.jsonl`

func runHost(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "host", hostExample)
	listen := fs.String("listen", "127.0.0.1:8583", "`ADDR` to listen on")
	db := fs.String("db", "", "ledger database `PATH` (created if missing)")
	profPath := fs.String("profile", "", "profile `FILE` (default: the embedded default profile)")
	faultsPath := fs.String("faults", "", "fault `FILE` (YAML or JSON) installed at start")
	tracePath := fs.String("trace", "", "write a JSONL message trace to `FILE` (card data masked)")
	specName := fs.String("spec", "possim87", "ISO 8583 spec `NAME` or moov spec file")
	seed := fs.Uint64("seed", 0, "random `SEED` for RRNs, auth codes and session keys (0: from the clock)")
	maxConns := fs.Int("max-conns", 0, "most open connections (0: no cap)")
	requireSignOn := fs.Bool("require-sign-on", false, "decline (58) transactions from terminals that have not signed on")
	verbose := fs.Bool("v", false, "log every connection and message decision")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the host to `FILE` (performance work)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *db == "" {
		return usageErr("--db PATH is required (the ledger file)")
	}
	prof := profile.Default()
	if *profPath != "" {
		p, err := profile.Load(*profPath)
		if err != nil {
			return usageErr("%v", err)
		}
		prof = p
	}
	var faults []acquirer.Fault
	if *faultsPath != "" {
		f, err := acquirer.LoadFaults(*faultsPath)
		if err != nil {
			return usageErr("%v", err)
		}
		faults = f
	}
	spec, err := iso.LoadSpec(*specName)
	if err != nil {
		return usageErr("%v", err)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	var trace io.Writer
	if *tracePath != "" {
		f, err := os.OpenFile(*tracePath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return usageErr("trace file: %v", err)
		}
		defer f.Close()
		trace = f
	}
	s := *seed
	if s == 0 {
		s = rand.Uint64()
	}
	log.Info("random seed", "seed", s)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return usageErr("cpu profile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return failErr("cpu profile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	led, err := ledger.Open(ctx, *db, ledger.Options{Logger: log})
	if err != nil {
		return ledgerErr(err)
	}
	defer led.Close()
	h, err := acquirer.New(ctx, acquirer.Config{Profile: prof, Ledger: led, Spec: spec, Logger: log, Trace: trace,
		Rand: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)), MaxConns: *maxConns, RequireSignOn: *requireSignOn, Faults: faults})
	if err != nil {
		return failErr("%v", err)
	}
	if err := h.Start(*listen); err != nil {
		return usageErr("%v", err)
	}
	fmt.Fprintf(env.Stdout, "possim host listening on %s\n", h.Addr())
	<-ctx.Done()
	if err := h.Close(); err != nil {
		return failErr("closing host: %v", err)
	}
	if err := led.Close(); err != nil {
		return failErr("%v", err)
	}
	fmt.Fprintln(env.Stdout, "possim host stopped")
	return nil
}

// ledgerErr maps ledger errors to exit codes: a database another process
// holds is a failure (1); any other file the ledger cannot open (missing
// directory, a directory, not a database, corrupt) is bad input (2).
func ledgerErr(err error) error {
	if errors.Is(err, ledger.ErrLocked) {
		return failErr("%v", err)
	}
	return usageErr("%v", err)
}
