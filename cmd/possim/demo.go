package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/possim/possim/harness"
)

func init() {
	register("demo", "the whole merchant flow in one run, in a virtual lab", runDemo)
}

func runDemo(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "demo", "possim demo --dashboard 127.0.0.1:8090")
	seed := fs.Uint64("seed", 1, "random seed of the lab")
	dash := fs.String("dashboard", "", "serve the live dashboard on `ADDR` (loopback unless POSSIM_TOKEN is set) and pace the demo to be watched")
	pace := fs.Duration("pace", time.Second, "with --dashboard: the pause before each act")
	hold := fs.Duration("hold", 0, "with --dashboard: keep the page up this long after the demo (0: until Enter or end of input)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *pace < 0 || *hold < 0 {
		return usageErr("--pace and --hold: give a duration of 0 or more, as 2s")
	}
	dir, err := os.MkdirTemp("", "possim-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := harness.DemoConfig{Dir: dir, Out: env.Stdout, Seed: *seed}
	if *dash != "" {
		d, err := startDashboard(*dash, "possim demo", env)
		if err != nil {
			return err
		}
		defer d.Close()
		cfg.OnLab = func(lab *harness.Lab) { d.Attach("demo", lab) }
		cfg.Pace = *pace
		defer holdDashboard(ctx, env, *hold)
	}
	return harness.RunDemo(ctx, cfg)
}

// startDashboard serves a lab dashboard on addr and says where.
func startDashboard(addr, title string, env *Env) (*harness.LabDashboard, error) {
	cfg := harness.LabDashboardConfig{Title: title}
	if env.Getenv != nil {
		cfg.Token = env.Getenv("POSSIM_TOKEN")
	}
	d := harness.NewLabDashboard(cfg)
	if err := d.Start(addr); err != nil {
		d.Close()
		return nil, usageErr("--dashboard %s: %v", addr, err)
	}
	fmt.Fprintf(env.Stderr, "%s: dashboard on %s/\n", title, d.URL())
	return d, nil
}

// holdDashboard keeps the page up after the demo: for d, or until a line
// (or the end) of standard input, or until ctx ends.
func holdDashboard(ctx context.Context, env *Env, d time.Duration) {
	done := make(chan struct{})
	if d > 0 {
		fmt.Fprintf(env.Stderr, "possim demo: the dashboard stays up for %s\n", d)
		t := time.AfterFunc(d, func() { close(done) })
		defer t.Stop()
	} else {
		fmt.Fprintln(env.Stderr, "possim demo: press Enter to end (the dashboard stays up until then)")
		in := env.Stdin
		if in == nil {
			return
		}
		// The reader goroutine ends with the process or at the next line.
		go func() {
			bufio.NewReader(in).ReadString('\n')
			close(done)
		}()
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}
