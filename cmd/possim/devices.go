package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/profile"
)

func init() {
	register("devices", "run the four virtual devices on ptys with a control API", runDevices)
}

const devicesExample = `possim devices --dir run --control 127.0.0.1:7070 --printer-tcp 127.0.0.1:9100
  then open run/printer (or run/cardreader, run/pinpad, run/scanner) from the POS,
  browse http://127.0.0.1:7070/ or: curl -X POST -d '{"card":"visa-credit"}' http://127.0.0.1:7070/api/cardreader/insert`

func runDevices(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "devices", devicesExample)
	dir := fs.String("dir", "", "`DIR` for the pty links (DIR/printer, ...) and receipts (DIR/receipts)")
	control := fs.String("control", "127.0.0.1:7070", "control API `ADDR` (loopback unless --token is given)")
	profPath := fs.String("profile", "", "profile `FILE` for the cards and keys (default: the embedded default profile)")
	token := fs.String("token", "", "require `TOKEN` as Authorization: Bearer on the control API (needed for a non-loopback address)")
	printerTCP := fs.String("printer-tcp", "", "also serve the printer as raw ESC/POS on TCP `ADDR` (port 9100 style)")
	seed := fs.Uint64("seed", 0, "random `SEED` for the card reader's unpredictable numbers (0: from the clock)")
	verbose := fs.Bool("v", false, "log every device command")
	maxEvents := fs.Int("max-events", harness.DefaultMaxEvents, "keep the newest `N` events in memory (older ones are dropped and counted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *maxEvents < 1 {
		return usageErr("--max-events %d: must be at least 1", *maxEvents)
	}
	if *dir == "" {
		return usageErr("--dir DIR is required (where the ptys and receipts go)")
	}
	if *token == "" && env.Getenv != nil {
		*token = env.Getenv("POSSIM_TOKEN")
	}
	prof := profile.Default()
	if *profPath != "" {
		p, err := profile.Load(*profPath)
		if err != nil {
			return usageErr("%v", err)
		}
		prof = p
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	s := *seed
	if s == 0 {
		s = rand.Uint64()
	}
	log.Info("random seed", "seed", s)

	rec := harness.NewRecorderWith(harness.RecorderConfig{MaxEvents: *maxEvents})
	rack, err := harness.NewRack(harness.RackConfig{Profile: prof, Dir: *dir, Logger: log, Recorder: rec, Seed: s})
	if err != nil {
		return failErr("%v", err)
	}
	defer rack.Close()
	if *printerTCP != "" {
		addr, err := rack.Printer.ListenTCP(*printerTCP)
		if err != nil {
			return usageErr("--printer-tcp: %v", err)
		}
		fmt.Fprintf(env.Stdout, "printer tcp  %s\n", addr)
	}
	ctl := harness.NewControl(harness.ControlConfig{Printer: rack.Printer, Reader: rack.Reader, PINPad: rack.PINPad,
		Scanner: rack.Scanner, Recorder: rec, Token: *token, Logger: log.With("part", "control")})
	if err := ctl.Start(*control); err != nil {
		return usageErr("%v", err)
	}
	defer ctl.Close()

	paths := rack.Paths()
	for _, name := range harness.DeviceNames {
		fmt.Fprintf(env.Stdout, "%-12s %s\n", name, paths[name])
	}
	fmt.Fprintf(env.Stdout, "receipts     %s/receipts\n", *dir)
	fmt.Fprintf(env.Stdout, "possim devices control API on %s\n", ctl.URL())

	<-ctx.Done()
	// The API goes first so no operator action reaches a closing device.
	cerr := ctl.Close()
	rerr := rack.Close()
	if cerr != nil || rerr != nil {
		return failErr("closing: %v", errors.Join(cerr, rerr))
	}
	fmt.Fprintln(env.Stdout, "possim devices stopped")
	return nil
}
