package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/possim/possim/simulators/trace"
)

func init() {
	register("trace", "show a field trace decoded: pcap/pcapng, JSONL traces, hex dumps, bridge recordings", runTrace)
}

const traceExample = `possim trace show capture.pcapng --port 8583`

func runTrace(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "trace", traceExample)
	port := fs.Int("port", 0, "host `PORT` in captures (default: who listened, else who answered, else the lower port)")
	asJSON := fs.Bool("json", false, "one JSON object per message, the summary on stderr")
	dialectName := fs.String("dialect", "", dialectUsage)
	// Flags may come before, between or after `show` and FILE.
	words, err := parseWords(fs, args)
	if err != nil {
		return err
	}
	const synopsis = "want possim trace show FILE [--dialect NAME|FILE] [--port N] [--json]"
	switch {
	case len(words) == 0:
		return usageErr("missing subcommand: %s", synopsis)
	case words[0] != "show":
		return usageErr("unknown subcommand %q: %s", words[0], synopsis)
	case len(words) == 1:
		return usageErr("missing FILE: %s", synopsis)
	case len(words) > 2:
		return usageErr("unexpected arguments %q: %s", words[2:], synopsis)
	}
	file := words[1]
	if *port < 0 || *port > 65535 {
		return usageErr("--port %d: want 1 to 65535", *port)
	}
	wire, err := loadWire(*dialectName, "")
	if err != nil {
		return usageErr("%w", err)
	}
	f, err := os.Open(file)
	if err != nil {
		return usageErr("opening trace: %w", err)
	}
	defer f.Close()
	t, err := trace.Read(f, trace.Options{Port: *port, Dialect: wire})
	if err != nil {
		return usageErr("%s: %w", file, err)
	}
	if *asJSON {
		err = trace.WriteJSON(env.Stdout, t)
		for _, g := range t.Gaps {
			fmt.Fprintf(env.Stderr, "gap: %v\n", g)
		}
		fmt.Fprintln(env.Stderr, trace.Summarize(t.Messages))
	} else {
		err = trace.WriteText(env.Stdout, t)
	}
	if err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if len(t.Problems) > 0 {
		// What could be read is shown; the exit code says not all of it.
		errs := make([]error, len(t.Problems))
		for i, p := range t.Problems {
			errs[i] = p
		}
		return &exitError{code: 2, err: fmt.Errorf("%s: %d parts could not be read: %w", file, len(t.Problems), errors.Join(errs...))}
	}
	return nil
}
