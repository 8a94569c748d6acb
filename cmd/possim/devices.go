package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/profile"
)

func init() {
	register("devices", "run the four virtual devices on ptys with a control API", runDevices)
}

const devicesExample = `possim devices --dir run --control 127.0.0.1:7070 --printer-tcp 127.0.0.1:9100
  then open run/printer (or run/cardreader, run/pinpad, run/scanner) from the POS,
  browse http://127.0.0.1:7070/ or: curl -X POST -d '{"card":"visa-credit"}' http://127.0.0.1:7070/api/cardreader/insert

  Without a token the control API binds and answers only loopback names
  (localhost, 127.0.0.1, [::1]). To serve another address or name, set a
  token in the environment (a flag shows in ps):
  POSSIM_TOKEN=$(openssl rand -hex 16) possim devices --dir run --control 0.0.0.0:7070
  and send it as Authorization: Bearer TOKEN (the dashboard: /?token=TOKEN)`

func runDevices(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "devices", devicesExample)
	dir := fs.String("dir", "", "`DIR` for the pty links (DIR/printer, ...) and receipts (DIR/receipts); created if missing, its parent must exist")
	control := fs.String("control", "127.0.0.1:7070", "control API `ADDR` (loopback unless a token is set)")
	profPath := fs.String("profile", "", "profile `FILE` for the cards and keys (default: the embedded default profile)")
	token := fs.String("token", "", "require `TOKEN` as Authorization: Bearer on the control API (needed for a non-loopback address or name);\nprefer the environment variable POSSIM_TOKEN, which ps does not show")
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
	if err := checkRunDir(*dir); err != nil {
		return usageErr("%v", err)
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
	var printerAddr string
	if *printerTCP != "" {
		addr, err := rack.Printer.ListenTCP(*printerTCP)
		if err != nil {
			return usageErr("--printer-tcp: %v", err)
		}
		printerAddr = addr.String()
	}
	ctl := harness.NewControl(harness.ControlConfig{Printer: rack.Printer, Reader: rack.Reader, PINPad: rack.PINPad,
		Scanner: rack.Scanner, Recorder: rec, Profile: rack.Profile, Token: *token, Logger: log.With("part", "control")})
	if err := ctl.Start(*control); err != nil {
		return usageErr("%v", err)
	}
	defer ctl.Close()
	printDevices(env, rack, *dir, printerAddr, ctl.URL(), *token != "")

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

// checkRunDir refuses a --dir whose parent is missing, as host --db does:
// a typo must not grow a directory tree somewhere unexpected. DIR itself
// is created by the rack.
func checkRunDir(dir string) error {
	parent := filepath.Dir(filepath.Clean(dir))
	fi, err := os.Stat(parent)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--dir %s: directory %s does not exist (DIR is created if missing, its parent is not)", dir, parent)
	case err != nil:
		return fmt.Errorf("--dir %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("--dir %s: %s is not a directory", dir, parent)
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("--dir %s is a file, not a directory", dir)
	}
	return nil
}

// printDevices tells the user where each device is and how to act on it.
// The last line is the ready line scripts wait for.
func printDevices(env *Env, rack *harness.Rack, dir, printerAddr, url string, token bool) {
	paths := rack.Paths()
	for _, name := range harness.DeviceNames {
		fmt.Fprintf(env.Stdout, "%-12s %s\n", name, paths[name])
		if name == "printer" && printerAddr != "" {
			fmt.Fprintf(env.Stdout, "printer tcp  %s\n", printerAddr)
		}
	}
	fmt.Fprintf(env.Stdout, "receipts     %s\n", filepath.Join(dir, "receipts"))
	auth, query := "", ""
	if token {
		auth, query = `-H "Authorization: Bearer $POSSIM_TOKEN" `, "?token=TOKEN"
	}
	fmt.Fprintf(env.Stdout, "dashboard    %s/%s\n", url, query)
	if cards := rack.Profile.CardAliases(); len(cards) > 0 {
		fmt.Fprintf(env.Stdout, "try          curl %s-X POST -d '{\"card\":\"%s\"}' %s/api/cardreader/insert\n", auth, cards[0], url)
	}
	fmt.Fprintf(env.Stdout, "possim devices control API on %s\n", url)
}
