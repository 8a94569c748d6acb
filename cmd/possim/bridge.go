package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/virtualdevices/bridge"
	"github.com/possim/possim/virtualdevices/serial"
)

func init() {
	register("bridge", "join a real serial device to a pty or TCP port, recording and faulting the traffic", runBridge)
}

const bridgeExample = `possim bridge --port /dev/ttyUSB0 --baud 9600 --pty run/cardreader --record reader.jsonl \
      --fault corrupt,dir=pos->dev,count=1 --control 127.0.0.1:7071
  then: curl -X POST -d '{"kind":"drop","dir":"dev->pos","count":2}' http://127.0.0.1:7071/api/bridge/fault`

// faultFlags collects repeated --fault specs.
type faultFlags []bridge.Fault

func (f *faultFlags) String() string { return fmt.Sprint(len(*f), " faults") }

func (f *faultFlags) Set(spec string) error {
	fault, err := parseBridgeFault(spec)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

// parseBridgeFault reads KIND[,dir=pos->dev|dev->pos][,delay=D][,count=N][,offset=K],
// e.g. "delay,dir=dev->pos,delay=300ms" or "corrupt,dir=pos->dev,count=1,offset=-1".
func parseBridgeFault(spec string) (bridge.Fault, error) {
	parts := strings.Split(spec, ",")
	kind, err := bridge.ParseFaultKind(strings.TrimSpace(parts[0]))
	if err != nil {
		return bridge.Fault{}, err
	}
	f := bridge.Fault{Kind: kind}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return bridge.Fault{}, fmt.Errorf("fault %q: %q is not key=value", spec, p)
		}
		switch k {
		case "dir":
			if d := bridge.Dir(v); d != bridge.POSToDev && d != bridge.DevToPOS {
				return bridge.Fault{}, fmt.Errorf("fault %q: dir %q: want %s or %s", spec, v, bridge.POSToDev, bridge.DevToPOS)
			}
			f.Dir = bridge.Dir(v)
		case "delay":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return bridge.Fault{}, fmt.Errorf("fault %q: bad delay %q, as 300ms", spec, v)
			}
			f.Delay = d
		case "count", "offset":
			n, err := strconv.Atoi(v)
			if err != nil || (k == "count" && n < 0) {
				return bridge.Fault{}, fmt.Errorf("fault %q: bad %s %q", spec, k, v)
			}
			if k == "count" {
				f.Count = n
			} else {
				f.Offset = n
			}
		default:
			return bridge.Fault{}, fmt.Errorf("fault %q: unknown key %q (want dir, delay, count, offset)", spec, k)
		}
	}
	if f.Kind == bridge.Delay && f.Delay == 0 {
		return bridge.Fault{}, fmt.Errorf("fault %q: a delay fault needs delay=D", spec)
	}
	return f, nil
}

func runBridge(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "bridge", bridgeExample)
	device := fs.String("device", "", "device `PATH` opened as a tty in raw mode (a pty, a possim device, a USB adapter)")
	port := fs.String("port", "", "real serial port `NAME` opened at --baud, 8N1 (e.g. /dev/ttyUSB0)")
	baud := fs.Int("baud", 9600, "baud `RATE` for --port")
	ptyLink := fs.String("pty", "", "expose the device to the POS as a pty linked at `LINK`")
	tcpAddr := fs.String("tcp", "", "expose the device to the POS on TCP `ADDR` instead (one client at a time)")
	recordPath := fs.String("record", "", "record every byte both ways as JSONL in `FILE` (mode 0600: it may hold card data)")
	var faults faultFlags
	fs.Var(&faults, "fault", "install `SPEC` at start: KIND[,dir=pos->dev|dev->pos][,delay=D][,count=N][,offset=K]; repeatable")
	control := fs.String("control", "", "serve /api/bridge/{fault,clear,disconnect} on `ADDR` (loopback unless a token is set)")
	token := fs.String("token", "", "require `TOKEN` as Authorization: Bearer on the control API;\nprefer the environment variable POSSIM_TOKEN, which ps does not show")
	verbose := fs.Bool("v", false, "log every connection and fault")
	replay := fs.String("replay", "", "play the device side of the recording `FILE` to the POS on --pty, paced as recorded, and report where the POS's bytes differ")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *replay != "" {
		return runBridgeReplay(ctx, *replay, *ptyLink, *device != "" || *port != "" || *tcpAddr != "", env)
	}
	if (*device == "") == (*port == "") {
		return usageErr("give exactly one of --device PATH and --port NAME")
	}
	if (*ptyLink == "") == (*tcpAddr == "") {
		return usageErr("give exactly one of --pty LINK and --tcp ADDR")
	}
	if *baud <= 0 {
		return usageErr("--baud %d: want a positive rate", *baud)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	var dev serial.Port
	var err error
	if *device != "" {
		dev, err = serial.OpenRaw(*device)
	} else {
		dev, err = serial.OpenPort(*port, *baud)
	}
	if err != nil {
		return usageErr("opening the device: %v", err)
	}
	cfg := bridge.Config{Device: dev, PTYLink: *ptyLink, TCPAddr: *tcpAddr, Logger: log}
	var rec *os.File
	if *recordPath != "" {
		if rec, err = bridge.CreateRecord(*recordPath); err != nil {
			dev.Close()
			return usageErr("--record: %v", err)
		}
		cfg.Record = rec
	}
	closeRec := func() error {
		if rec == nil {
			return nil
		}
		return rec.Close()
	}
	b := bridge.New(cfg)
	if err := b.Start(); err != nil {
		dev.Close()
		closeRec()
		return usageErr("%v", err)
	}
	for _, f := range faults {
		b.SetFault(f)
	}
	var ctl *harness.Control
	if *control != "" {
		if *token == "" && env.Getenv != nil {
			*token = env.Getenv("POSSIM_TOKEN")
		}
		ctl = harness.NewControl(harness.ControlConfig{Bridge: b, Token: *token, Logger: log.With("part", "control")})
		if err := ctl.Start(*control); err != nil {
			b.Close()
			closeRec()
			return usageErr("%v", err)
		}
	}
	if p := b.Path(); p != "" {
		fmt.Fprintf(env.Stdout, "possim bridge pty %s\n", p)
	} else {
		fmt.Fprintf(env.Stdout, "possim bridge listening on %s\n", b.Addr())
	}
	if ctl != nil {
		fmt.Fprintf(env.Stdout, "possim bridge control API on %s\n", ctl.URL())
	}

	<-ctx.Done()
	var errs []error
	if ctl != nil {
		errs = append(errs, ctl.Close())
	}
	errs = append(errs, b.Close(), closeRec())
	if err := errors.Join(errs...); err != nil {
		return failErr("closing bridge: %v", err)
	}
	fmt.Fprintln(env.Stdout, "possim bridge stopped")
	return nil
}
