package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/possim/possim/resilience"
)

func init() {
	register("crashloop", "kill the host with SIGKILL under load, restart it, and check nothing was lost", runCrashloop)
}

const crashloopExample = `possim crashloop --kills 20 --conns 8 --timeout 5m`

func runCrashloop(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "crashloop", crashloopExample)
	kills := fs.Int("kills", 20, "SIGKILLs of the host")
	conns := fs.Int("conns", 8, "terminals putting load on the host")
	db := fs.String("db", "", "ledger `PATH` (default: a fresh file in a temporary directory, removed after a pass)")
	minRun := fs.Duration("min-run", 300*time.Millisecond, "shortest load before a kill")
	maxRun := fs.Duration("max-run", 1500*time.Millisecond, "longest load before a kill")
	seed := fs.Uint64("seed", 0, "random `SEED` for kill moments and amounts (0: from the clock)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *kills < 1 || *conns < 1 {
		return usageErr("--kills and --conns must be at least 1")
	}
	self, err := os.Executable()
	if err != nil {
		return failErr("finding the possim binary: %v", err)
	}
	path, tmp := *db, ""
	if path == "" {
		if tmp, err = os.MkdirTemp("", "possim-crashloop-"); err != nil {
			return failErr("%v", err)
		}
		path = filepath.Join(tmp, "crash.db")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := resilience.CrashLoop(ctx, resilience.CrashConfig{
		DB: path, Kills: *kills, Conns: *conns, MinRun: *minRun, MaxRun: *maxRun, Seed: *seed,
		Host: func(db string) *exec.Cmd {
			cmd := exec.Command(self, "host", "--listen", "127.0.0.1:0", "--db", db)
			cmd.Stderr = env.Stderr
			return cmd
		},
		Logf: func(format string, a ...any) { fmt.Fprintf(env.Stderr, format+"\n", a...) },
	})
	if err != nil {
		var ce *resilience.CrashError
		if errors.As(err, &ce) {
			return failErr("crash loop (seed %d, ledger kept at %s): %v", rep.Seed, path, err)
		}
		return failErr("crash loop (ledger at %s): %v", path, err)
	}
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(env.Stdout, "crash loop passed: seed %d, %d SIGKILLs in %.1f s\n", rep.Seed, rep.Kills, rep.Elapsed.Seconds())
	fmt.Fprintf(env.Stdout, "sales approved %d, reversals %d (%d repeated), requests in doubt %d (all resolved)\n",
		rep.Sales, rep.Reversals, rep.Repeats, rep.InDoubt)
	fmt.Fprintf(env.Stdout, "after every kill: ledger verify clean, every approval journaled, balances = postings\n")
	fmt.Fprintf(env.Stdout, "at the end: %d entries, merchant balance %d fen = terminals' approvals less reversals\n", rep.Entries, rep.Balance)
	return nil
}
