package main

import (
	"context"
	"os"

	"github.com/possim/possim/harness"
)

func init() {
	register("demo", "the whole merchant flow in one run, in a virtual lab", runDemo)
}

func runDemo(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "demo", "possim demo")
	seed := fs.Uint64("seed", 1, "random seed of the lab")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "possim-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return harness.RunDemo(ctx, harness.DemoConfig{Dir: dir, Out: env.Stdout, Seed: *seed})
}
