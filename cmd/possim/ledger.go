package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/ledger"
)

func init() { register("ledger", "read the host's ledger: statements, invariants, cut-off", runLedger) }

const ledgerExample = `possim ledger --db host.db statement --merchant 123456789012345 --period month --date 2026-11-25
  possim ledger --db host.db verify
  possim ledger --db host.db cutoff --date 2026-11-25`

func runLedger(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "ledger", ledgerExample)
	db := fs.String("db", "", "ledger database `PATH`, or a postgres:// URL")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *db == "" {
		return usageErr("--db PATH is required (the ledger file, or a postgres:// URL)")
	}
	if fs.NArg() == 0 {
		return usageErr("want a subcommand: statement, verify or cutoff")
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	var run func(context.Context, *ledger.Ledger, []string, *Env) error
	switch sub {
	case "statement":
		run = ledgerStatement
	case "verify":
		run = ledgerVerify
	case "cutoff":
		run = ledgerCutoff
	default:
		return usageErr("unknown ledger subcommand %q; want statement, verify or cutoff", sub)
	}
	// Parse the subcommand's flags before opening the file, so a typo does
	// not create an empty database.
	if err := run(ctx, nil, rest, env); err != nil {
		return err
	}
	if !ledger.IsPostgresURL(*db) {
		if _, err := os.Stat(*db); err != nil {
			return usageErr("ledger %s: %v", *db, err)
		}
	}
	led, err := ledger.Open(ctx, *db, ledger.Options{})
	if err != nil {
		return ledgerErr(err)
	}
	defer led.Close()
	return run(ctx, led, rest, env)
}

func ledgerDate(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return t, usageErr("--date %q: want YYYY-MM-DD", s)
	}
	return t.Add(12 * time.Hour), nil
}

// ledgerStatement prints a merchant's statement; with a nil ledger it only
// checks its flags.
func ledgerStatement(ctx context.Context, led *ledger.Ledger, args []string, env *Env) error {
	fs := newFlagSet(env, "ledger statement", ledgerExample)
	mid := fs.String("merchant", "", "merchant `MID`")
	period := fs.String("period", "day", "`PERIOD`: day, month or quarter")
	date := fs.String("date", "", "a day in the period, `YYYY-MM-DD` (default today)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *mid == "" {
		return usageErr("--merchant MID is required")
	}
	p := ledger.Period(*period)
	if p != ledger.Day && p != ledger.Month && p != ledger.Quarter {
		return usageErr("--period %q: want day, month or quarter", *period)
	}
	at, err := ledgerDate(*date)
	if err != nil {
		return err
	}
	if led == nil {
		return nil
	}
	st, err := led.Statement(ctx, *mid, p, at)
	if errors.Is(err, ledger.ErrNotFound) {
		return usageErr("merchant %s is not in %s", *mid, led.Path())
	}
	if err != nil {
		return failErr("%v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(harness.NewStatementJSON(st))
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Statement\t%s %s\n", st.MerchantID, st.Name)
	fmt.Fprintf(w, "Period\t%s %s .. %s\n", st.Period, st.From.Format("2006-01-02"), st.To.Add(-time.Nanosecond).Format("2006-01-02"))
	fmt.Fprintf(w, "Sales\t%d\t%s\n", st.Count, money.FormatGrouped(st.Gross))
	fmt.Fprintf(w, "Refunds\t%d\t%s\n", st.RefundCount, money.FormatGrouped(st.Refunds))
	fmt.Fprintf(w, "Reversals\t%d\t%s\n", st.ReversalCount, money.FormatGrouped(st.Reversals))
	fmt.Fprintf(w, "Declined\t%d\n", st.DeclinedCount)
	fmt.Fprintf(w, "Fees\t\t%s\n", money.FormatGrouped(st.Fees))
	fmt.Fprintf(w, "Net\t\t%s\n", money.FormatGrouped(st.Net))
	fmt.Fprintf(w, "Settled D0\t\t%s\n", money.FormatGrouped(st.SettledD0))
	fmt.Fprintf(w, "Settled T+1\t\t%s\n", money.FormatGrouped(st.SettledT1))
	fmt.Fprintf(w, "Pending T+1\t\t%s\n", money.FormatGrouped(st.PendingT1))
	return w.Flush()
}

// ledgerVerify checks the ledger's invariants: exit 1 on any breach.
func ledgerVerify(ctx context.Context, led *ledger.Ledger, args []string, env *Env) error {
	fs := newFlagSet(env, "ledger verify", ledgerExample)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if led == nil {
		return nil
	}
	breaches, err := led.Verify(ctx)
	if err != nil {
		return failErr("%v", err)
	}
	for _, b := range breaches {
		fmt.Fprintln(env.Stdout, "BREACH", b.String())
	}
	if len(breaches) > 0 {
		return failErr("%d ledger invariant(s) broken in %s", len(breaches), led.Path())
	}
	n, size, err := led.Stats(ctx)
	if err != nil {
		return failErr("%v", err)
	}
	fmt.Fprintf(env.Stdout, "ledger %s: %d entries, %d bytes, invariants hold\n", led.Path(), n, size)
	return nil
}

// ledgerCutoff credits the pending T+1 postings up to the end of the day.
func ledgerCutoff(ctx context.Context, led *ledger.Ledger, args []string, env *Env) error {
	fs := newFlagSet(env, "ledger cutoff", ledgerExample)
	date := fs.String("date", "", "cut-off day `YYYY-MM-DD` (default today)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	day, err := ledgerDate(*date)
	if err != nil {
		return err
	}
	if led == nil {
		return nil
	}
	ps, err := led.CutOff(ctx, day)
	if err != nil {
		return failErr("%v", err)
	}
	var net int64
	for _, p := range ps {
		net += p.Net
	}
	fmt.Fprintf(env.Stdout, "cut-off %s: %d postings credited, net %s\n", day.Format("2006-01-02"), len(ps), money.FormatGrouped(net))
	return nil
}
