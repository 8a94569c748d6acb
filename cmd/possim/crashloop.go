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

	"github.com/possim/possim/money"
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
		return enc.Encode(newCrashJSON(*rep))
	}
	fmt.Fprintf(env.Stdout, "crash loop passed: seed %d, %d SIGKILLs in %.1f s\n", rep.Seed, rep.Kills, rep.Elapsed.Seconds())
	fmt.Fprintf(env.Stdout, "sales approved %d, reversals %d (%d repeated), requests in doubt %d (all resolved)\n",
		rep.Sales, rep.Reversals, rep.Repeats, rep.InDoubt)
	fmt.Fprintf(env.Stdout, "after every kill: ledger verify clean, every approval journaled, balances = postings\n")
	fmt.Fprintf(env.Stdout, "at the end: %d entries, merchant balance %s = terminals' approvals less reversals\n", rep.Entries, money.FormatGrouped(rep.Balance))
	return nil
}

// crashJSON is `possim crashloop --json`, in the style of every --json
// output: snake_case, amounts as decimal strings beside their currency.
type crashJSON struct {
	Seed           uint64        `json:"seed"`
	Kills          int           `json:"kills"`
	Sales          int           `json:"sales_count"`
	Reversals      int           `json:"reversal_count"`
	Repeats        int           `json:"repeated_reversal_count"`
	InDoubt        int           `json:"in_doubt_count"`
	Entries        int           `json:"entry_count"`
	Balance        money.Decimal `json:"balance"`
	Expected       money.Decimal `json:"expected"`
	Currency       string        `json:"currency"`
	ElapsedSeconds float64       `json:"elapsed_seconds"`
}

func newCrashJSON(r resilience.CrashReport) crashJSON {
	return crashJSON{Seed: r.Seed, Kills: r.Kills, Sales: r.Sales, Reversals: r.Reversals, Repeats: r.Repeats,
		InDoubt: r.InDoubt, Entries: r.Entries, Balance: money.Decimal(r.Balance), Expected: money.Decimal(r.Expected),
		Currency: money.Currency, ElapsedSeconds: r.Elapsed.Seconds()}
}
