// Command possim is the one binary of possim: the mock acquirer host, the
// virtual devices, the virtual terminal, the lab and its Gherkin runner,
// the demo and the load generator. This package only parses flags and
// wires parts together; each subcommand lives in its own file and
// registers itself in commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, env *Env) error
}

// Env is what a subcommand may touch of the outside world, so tests can
// drive Main with buffers instead of the process's own streams.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, env *Env) error) {
	commands[name] = command{summary: summary, run: run}
}

// exitError carries an exit code: 1 a test or transaction failed, 2 bad
// usage or bad input.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks an error as bad usage or bad input (exit 2).
func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// failErr marks a failed test or transaction (exit 1) whose story has
// already been printed.
func failErr(format string, a ...any) error {
	return &exitError{code: 1, err: fmt.Errorf(format, a...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// Main runs one subcommand and returns the process exit code.
func Main(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "possim: unknown command %q\n\n", args[0])
		usage(env.Stderr)
		return 2
	}
	err := cmd.run(ctx, args[1:], env)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(env.Stderr, "possim %s: %v\n", args[0], err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: possim COMMAND [flags]   (possim COMMAND -h for an example)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
}

// newFlagSet makes a subcommand's flag set whose -h shows the example.
// Every subcommand gets its flags here, so they all answer a bad flag the
// same way (parseFlags) and show durations as durations in -h.
func newFlagSet(env *Env, name, example string) *flag.FlagSet {
	fs := flag.NewFlagSet("possim "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: possim %s [flags]\n\nexample:\n  %s\n\nflags:\n", name, strings.TrimSpace(example))
		durationPlaceholders(fs)
		fs.PrintDefaults()
	}
	return fs
}

// durationPlaceholders drops the backquotes from duration flags' usage, so
// that PrintDefaults names their value "duration" (a backquoted word in
// the usage would replace it: "-idle-timeout long").
func durationPlaceholders(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if g, ok := f.Value.(flag.Getter); ok {
			if _, ok := g.Get().(time.Duration); ok {
				f.Usage = strings.ReplaceAll(f.Usage, "`", "")
			}
		}
	})
}

// parseFlags parses args. -h prints the usage; any other flag error is
// one line naming the flag plus where the usage is, not the whole usage
// (the flag package would print both, and Main the error once more).
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	}
	return &exitError{code: 2, err: fmt.Errorf("%w\nrun '%s -h' for usage", err, fs.Name())}
}

// parseWords parses args allowing flags before, between and after the
// command's words (subcommand, FILE), and returns the words in order.
func parseWords(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for rest := args; ; {
		if err := parseFlags(fs, rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return words, nil
		}
		words, rest = append(words, fs.Arg(0)), fs.Args()[1:]
	}
}
