package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/trace"
	"github.com/possim/possim/virtualdevices/bridge"
)

func init() {
	register("replay", "play a trace's terminal side against a host and compare the answers; or write it as a feature", runReplay)
}

const replayExample = `possim replay capture.pcapng --host 127.0.0.1:8583 --fresh-keys`

func runReplay(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "replay", replayExample)
	host := fs.String("host", "", "host `ADDR` to replay against (host:port)")
	port := fs.Int("port", 0, "host `PORT` in captures (default: who listened, else who answered, else the lower port)")
	speed := fs.Float64("speed", 1, "pace `X` times as fast as recorded")
	asFast := fs.Bool("as-fast", false, "send each request as soon as the one before it is answered")
	fresh := fs.Bool("fresh-keys", false, "new STANs, dates and times (field 90 of a reversal follows its original)")
	strict := fs.Bool("strict", false, "fail the fields that always differ (7, 12, 13, 37, 38, 62) too")
	asJSON := fs.Bool("json", false, "one JSON object per exchange, then the totals")
	feature := fs.String("feature", "", "write a Gherkin scenario reproducing the trace to `FILE` instead of replaying")
	dialectName := fs.String("dialect", "", dialectUsage)
	profPath := fs.String("profile", "", "profile `FILE` for test cards and keys (default: the embedded default profile)")
	words, err := parseWords(fs, args)
	if err != nil {
		return err
	}
	const synopsis = "want possim replay FILE --host ADDR [--dialect NAME|FILE] [--port N] [--speed X | --as-fast] [--fresh-keys] [--strict] [--json], or possim replay FILE --feature OUT.feature"
	switch {
	case len(words) == 0:
		return usageErr("missing FILE: %s", synopsis)
	case len(words) > 1:
		return usageErr("unexpected arguments %q: %s", words[1:], synopsis)
	case *feature == "" && *host == "":
		return usageErr("missing --host: %s", synopsis)
	case *port < 0 || *port > 65535:
		return usageErr("--port %d: want 1 to 65535", *port)
	case *speed <= 0:
		return usageErr("--speed %g: want a factor above 0 (2: twice as fast), or --as-fast", *speed)
	}
	setFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setFlags[f.Name] = true })
	if *asFast && setFlags["speed"] {
		return usageErr("--speed and --as-fast together: choose one")
	}
	prof := profile.Default()
	if *profPath != "" {
		p, err := profile.Load(*profPath)
		if err != nil {
			return usageErr("loading profile: %w", err)
		}
		prof = p
	}
	wire, err := loadWire(*dialectName, "")
	if err != nil {
		return usageErr("%w", err)
	}
	file := words[0]
	f, err := os.Open(file)
	if err != nil {
		return usageErr("opening trace: %w", err)
	}
	defer f.Close()
	t, err := trace.Read(f, trace.Options{Port: *port, Dialect: wire})
	if err != nil {
		return usageErr("%s: %w", file, err)
	}
	for _, p := range t.Problems {
		fmt.Fprintf(env.Stderr, "%s: %v (replayed without it)\n", file, p)
	}
	if *feature != "" {
		return writeFeature(t, file, *feature, prof, env)
	}
	opts := trace.ReplayOptions{Addr: *host, Speed: *speed, FreshKeys: *fresh, Strict: *strict, Profile: prof, Dialect: wire}
	if *asFast {
		opts.Speed = 0
	}
	res, err := trace.Replay(ctx, t, opts)
	if errors.Is(err, trace.ErrNothingToReplay) {
		return usageErr("%s: %w", file, err)
	}
	if res != nil {
		var werr error
		if *asJSON {
			werr = trace.WriteReplayJSON(env.Stdout, res)
		} else {
			werr = trace.WriteReplayText(env.Stdout, res)
		}
		if err == nil && werr != nil {
			err = fmt.Errorf("writing: %w", werr)
		}
	}
	if err != nil {
		return fmt.Errorf("replaying %s against %s: %w", file, *host, err)
	}
	if !res.Matched() {
		return &exitError{code: 1, err: fmt.Errorf("replay of %s against %s: answers differ from the recording", file, *host)}
	}
	return nil
}

func writeFeature(t *trace.Trace, file, out string, prof *profile.Profile, env *Env) error {
	f, err := os.Create(out)
	if err != nil {
		return usageErr("--feature: %w", err)
	}
	if err := trace.WriteFeature(f, t, filepath.Base(file), prof); err != nil {
		f.Close()
		os.Remove(out)
		if errors.Is(err, trace.ErrNothingToReplay) {
			return usageErr("%s: %w", file, err)
		}
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	fmt.Fprintf(env.Stdout, "wrote %s: run it with possim run %s\n", out, out)
	return nil
}

// loadPlayback reads the recording possim host --playback answers from,
// in the host's dialect; nil without one.
func loadPlayback(path, match, miss string, wire *iso.Dialect) (acquirer.Playback, error) {
	if path == "" {
		if match != "" || miss != "" {
			return nil, usageErr("--match and --playback-miss need --playback FILE")
		}
		return nil, nil
	}
	if miss != "" && len(miss) != 2 {
		return nil, usageErr("--playback-miss %q: want a two-character response code such as 96", miss)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("--playback: %w", err)
	}
	defer f.Close()
	t, err := trace.Read(f, trace.Options{Dialect: wire})
	if err != nil {
		return nil, usageErr("--playback %s: %w", path, err)
	}
	if len(t.Problems) > 0 {
		return nil, usageErr("--playback %s: %v", path, t.Problems[0])
	}
	p, err := trace.NewPlayer(t, match)
	if err != nil {
		return nil, usageErr("--playback %s: %w", path, err)
	}
	return p, nil
}

// runBridgeReplay is possim bridge --replay: the recorded device played
// to POS software on a pty until the recording ends.
func runBridgeReplay(ctx context.Context, file, link string, device bool, env *Env) error {
	switch {
	case link == "":
		return usageErr("--replay needs --pty LINK: the pty the POS software opens")
	case device:
		return usageErr("--replay plays the recorded device: no --device, --port or --tcp with it")
	}
	f, err := os.Open(file)
	if err != nil {
		return usageErr("--replay: %w", err)
	}
	recs, err := bridge.ReadRecords(f)
	f.Close()
	if err != nil {
		return usageErr("--replay %s: %w", file, err)
	}
	rep, err := bridge.Replay(ctx, bridge.ReplayConfig{Records: recs, PTYLink: link, Speed: 1,
		Ready: func(path string) { fmt.Fprintf(env.Stdout, "bridge replay of %s on pty %s\n", file, path) }})
	if err != nil {
		return fmt.Errorf("replaying %s: %w", file, err)
	}
	for _, d := range rep.Deviations {
		fmt.Fprintln(env.Stdout, d)
	}
	fmt.Fprintf(env.Stdout, "bridge replay: %d bytes to the POS, %d from it, %d deviations\n", rep.DeviceOut, rep.POSIn, len(rep.Deviations))
	if len(rep.Deviations) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("the POS's bytes differ from %s", file)}
	}
	return nil
}
