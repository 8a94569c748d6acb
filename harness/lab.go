package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
	"github.com/possim/possim/simulators/terminal"
	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
	"github.com/possim/possim/virtualdevices/serial"
)

// Mode is how a lab joins its parts (docs/architecture.md, "The three lab modes").
type Mode string

// The lab modes.
const (
	Virtual  Mode = "virtual"  // in-memory links; virtual time under synctest
	Wired    Mode = "wired"    // loopback TCP to the host, devices on real ptys
	External Mode = "external" // a real host address and/or real device paths
)

// Config builds a lab.
type Config struct {
	Profile *profile.Profile // nil: the embedded default
	Mode    Mode             // "" is Virtual
	Seed    uint64
	// Dir holds the ledger database (and the ptys in wired mode). Required
	// unless external with a host address.
	Dir string
	// HostAddr, in external mode, is the real host the terminal talks to;
	// no host or ledger is started then.
	HostAddr string
	// DevicesDir, in external mode, holds the ptys of `possim devices`
	// (cardreader, pinpad, printer, scanner); no virtual devices start then.
	DevicesDir string
	// ControlAddr, with DevicesDir, is the control API of that `possim
	// devices` (HOST:PORT): the steps act on the devices and read them
	// through it, and each lab resets the devices there at its start.
	// ControlToken is its token (POSSIM_TOKEN), if it has one.
	ControlAddr  string
	ControlToken string
	// ExternalPOS, with DevicesDir and ControlAddr, says the POS software
	// is outside the lab and sits on the ptys itself: the lab opens no
	// pty and starts no terminal and no host (the POS talks to the host
	// it was given). Lab.Terminal, Host, Ledger and Link stay nil; the
	// steps reach the devices through the control API only.
	ExternalPOS bool
	// ResponseTimeout is the terminal's wait for the host (default 30s).
	ResponseTimeout time.Duration
	// CardTimeout is the terminal's wait for a card and for the PIN
	// (default 60s).
	CardTimeout time.Duration
	// PrinterPoll is how often the terminal looks at a printer that is not
	// ready while receipts wait, printing them once it is (default 1s).
	PrinterPoll time.Duration
	Logger      *slog.Logger
	// Now is the lab's clock (default time.Now; virtual under synctest).
	Now func() time.Time
	// Start, when set, makes the lab's clock start at this instant and run
	// on from there: scenarios get the same dates run after run, and
	// synctest's year-2000 epoch does not make expired cards valid again.
	Start time.Time
	// Synchronous is the ledger's SQLite synchronous setting ("" = FULL).
	Synchronous string
	// RequireSignOn makes the lab's host decline (58) every transaction of
	// a terminal that has not signed on, as a strict acquirer does.
	RequireSignOn bool
	// TerminalStore, when set, keeps the terminal's STAN, batch, log and
	// pending reversals between labs: against an external host the next
	// lab's terminal must go on where the last one stopped, as a real one
	// does, or its STANs repeat and the host answers 94.
	TerminalStore terminal.Store
	// Dialect is the wire between terminal and host (nil: possim87).
	Dialect *iso.Dialect
	// Settle, when set, is called after each device is attached; under
	// synctest it is synctest.Wait, so the devices start in a fixed order
	// and a seed gives the same timeline every run.
	Settle func()
}

// Lab is one assembled lab. Fields for parts that the mode replaced by real
// ones (external host, external devices) are nil.
type Lab struct {
	cfg      Config
	Profile  *profile.Profile
	Recorder *Recorder
	Ledger   *ledger.Ledger
	Host     *acquirer.Host
	Link     *Link
	Terminal *terminal.Terminal

	Printer *printer.Printer
	Reader  *cardreader.Reader
	PINPad  *pinpad.Pad
	Scanner *scanner.Scanner
	// Devices is what the steps act on: the devices above, or those of
	// the external `possim devices` through its control API.
	Devices Devices

	closers []func() error // in reverse order of opening
	once    sync.Once
	err     error
}

// New builds and starts a lab. On error everything already started is
// closed again.
func New(ctx context.Context, cfg Config) (lab *Lab, err error) {
	if cfg.Profile == nil {
		cfg.Profile = profile.Default()
	}
	if cfg.Mode == "" {
		cfg.Mode = Virtual
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PrinterPoll <= 0 {
		cfg.PrinterPoll = time.Second
	}
	if !cfg.Start.IsZero() {
		base, real := cfg.Start, cfg.Now
		t0 := real()
		cfg.Now = func() time.Time { return base.Add(real().Sub(t0)) }
	}
	switch cfg.Mode {
	case Virtual, Wired:
		if cfg.Dir == "" {
			return nil, errors.New("lab: a directory for the ledger is required")
		}
	case External:
		if cfg.HostAddr == "" && cfg.DevicesDir == "" {
			return nil, errors.New("lab: external mode needs a host address, a devices directory, or both")
		}
		if cfg.HostAddr == "" && cfg.Dir == "" {
			return nil, errors.New("lab: a directory for the ledger is required")
		}
	default:
		return nil, fmt.Errorf("lab: unknown mode %q; valid: virtual, wired, external", cfg.Mode)
	}
	if cfg.ExternalPOS && (cfg.Mode != External || cfg.DevicesDir == "" || cfg.ControlAddr == "") {
		return nil, errors.New("lab: an external POS needs external devices and their control API (a devices directory and a control address)")
	}
	l := &Lab{cfg: cfg, Profile: cfg.Profile, Recorder: NewRecorder(cfg.Now)}
	defer func() {
		if err != nil {
			l.Close()
			lab = nil
		}
	}()
	if cfg.ExternalPOS {
		// The ptys are the outside POS's: opening them here would take
		// its bytes.
		if err := l.reachDevices(ctx); err != nil {
			return nil, err
		}
		return l, nil
	}
	if err := l.startHost(ctx); err != nil {
		return nil, err
	}
	drivers, err := l.startDevices()
	if err != nil {
		return nil, err
	}
	if err := l.reachDevices(ctx); err != nil {
		return nil, err
	}
	t, err := terminal.New(terminal.Config{
		Profile:         cfg.Profile,
		Dial:            l.Link.Dial,
		Dialect:         cfg.Dialect,
		Printer:         drivers.printer,
		Reader:          drivers.reader,
		PINPad:          drivers.pinpad,
		Scanner:         drivers.scanner,
		ResponseTimeout: cfg.ResponseTimeout,
		PrinterPoll:     cfg.PrinterPoll,
		CardTimeout:     cfg.CardTimeout,
		Now:             cfg.Now,
		Rand:            mrand.New(mrand.NewSource(int64(cfg.Seed ^ 3))),
		Logger:          cfg.Logger.With("part", "terminal"),
		OnEvent:         l.terminalEvent,
		Store:           cfg.TerminalStore,
	})
	if err != nil {
		return nil, fmt.Errorf("lab: terminal: %w", err)
	}
	l.Terminal = t
	l.closers = append(l.closers, t.Close)
	return l, nil
}

// Dialect is the wire between the lab's terminal and host.
func (l *Lab) Dialect() *iso.Dialect {
	if l.cfg.Dialect == nil {
		return iso.Possim87()
	}
	return l.cfg.Dialect
}

func (l *Lab) startHost(ctx context.Context) error {
	cfg := l.cfg
	var upstream func(ctx context.Context) (net.Conn, error)
	if cfg.Mode == External && cfg.HostAddr != "" {
		upstream = func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", cfg.HostAddr)
		}
	} else {
		led, err := ledger.Open(ctx, filepath.Join(cfg.Dir, "ledger.db"), ledger.Options{
			Logger: cfg.Logger.With("part", "ledger"), Synchronous: cfg.Synchronous})
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		l.Ledger = led
		l.closers = append(l.closers, led.Close)
		host, err := acquirer.New(ctx, acquirer.Config{
			Profile:       cfg.Profile,
			Ledger:        led,
			Logger:        cfg.Logger.With("part", "host"),
			OnEvent:       l.hostEvent,
			Now:           cfg.Now,
			Rand:          rand.New(rand.NewPCG(cfg.Seed, 1)),
			RequireSignOn: cfg.RequireSignOn,
			Dialect:       cfg.Dialect,
		})
		if err != nil {
			return fmt.Errorf("lab: host: %w", err)
		}
		l.Host = host
		l.closers = append(l.closers, host.Close)
		if cfg.Mode == Wired {
			if err := host.Start("127.0.0.1:0"); err != nil {
				return fmt.Errorf("lab: host: %w", err)
			}
			addr := host.Addr()
			upstream = func(ctx context.Context) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", addr)
			}
		} else {
			upstream = func(ctx context.Context) (net.Conn, error) {
				mine, theirs := net.Pipe()
				if err := host.ServeConn(theirs); err != nil {
					mine.Close()
					return nil, err
				}
				return mine, nil
			}
		}
	}
	l.Link = NewLink(LinkConfig{Upstream: upstream, Seed: cfg.Seed, Logger: cfg.Logger.With("part", "link"),
		OnEvent: func(kind, detail string) { l.Recorder.Add(Event{Source: "link", Kind: kind, Text: detail}) }})
	l.closers = append(l.closers, l.Link.Close)
	return nil
}

type drivers struct {
	printer *printer.Driver
	reader  *cardreader.Driver
	pinpad  *pinpad.Driver
	scanner *scanner.Driver
}

// startDevices starts the four virtual devices (or opens the external
// ones) and returns the POS-side drivers the terminal uses.
func (l *Lab) startDevices() (*drivers, error) {
	cfg := l.cfg
	ports := map[string]io.ReadWriteCloser{}
	if cfg.Mode == External && cfg.DevicesDir != "" {
		for _, name := range []string{"cardreader", "pinpad", "printer", "scanner"} {
			p, err := serial.OpenRaw(filepath.Join(cfg.DevicesDir, name))
			if err != nil {
				return nil, fmt.Errorf("lab: opening %s: %w", name, err)
			}
			ports[name] = p
			l.closers = append(l.closers, p.Close)
		}
	} else {
		dev := func(source string) func(kind, detail string) {
			return func(kind, detail string) {
				l.Recorder.Add(Event{Source: source, Kind: kind, Text: detail})
			}
		}
		pr := printer.New(printer.Config{Name: "printer", Chinese: cfg.Profile.Locale == "zh", Now: cfg.Now,
			Logger:  cfg.Logger.With("part", "printer"),
			OnEvent: func(e printer.Event) { dev("printer")(e.Kind, e.Detail) }})
		cards := cardreader.CardsFromProfile(cfg.Profile.Cards)
		if cfg.TerminalStore != nil {
			// Against a host that outlives the lab the cards go on counting
			// from the terminal's state, or their cryptograms would repeat.
			if st, err := cfg.TerminalStore.Load(); err == nil && st != nil {
				for i := range cards {
					cards[i].ATC = st.CardATC[cards[i].Alias]
				}
			}
		}
		rd, err := cardreader.New(cardreader.Config{Cards: cards,
			IssuerMasterKey: cfg.Profile.Keys.IMK(), Logger: cfg.Logger.With("part", "cardreader"),
			Rand:    rand.New(rand.NewPCG(cfg.Seed, 2)),
			OnEvent: func(e cardreader.Event) { dev("cardreader")(e.Kind, e.Detail) }})
		if err != nil {
			return nil, fmt.Errorf("lab: card reader: %w", err)
		}
		pad, err := pinpad.New(pinpad.Config{MasterKey: cfg.Profile.Keys.TMK(), Logger: cfg.Logger.With("part", "pinpad"),
			OnEvent: func(e pinpad.Event) { dev("pinpad")(e.Kind, e.Detail) }})
		if err != nil {
			return nil, fmt.Errorf("lab: PIN pad: %w", err)
		}
		sc := scanner.New(scanner.Config{Logger: cfg.Logger.With("part", "scanner"),
			OnEvent: func(e scanner.Event) { dev("scanner")(e.Kind, e.Detail) }})
		l.Printer, l.Reader, l.PINPad, l.Scanner = pr, rd, pad, sc
		l.closers = append(l.closers, pr.Close, rd.Close, pad.Close, sc.Close)
		attach := map[string]func(io.ReadWriteCloser){"printer": pr.Attach, "cardreader": rd.Attach, "pinpad": pad.Attach, "scanner": sc.Attach}
		for _, name := range []string{"cardreader", "pinpad", "printer", "scanner"} {
			if cfg.Mode == Wired {
				if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
					return nil, fmt.Errorf("lab: %w", err)
				}
				pty, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(cfg.Dir, name), Logger: cfg.Logger})
				if err != nil {
					return nil, fmt.Errorf("lab: %s pty: %w", name, err)
				}
				attach[name](pty)
				pos, err := serial.OpenRaw(pty.Path())
				if err != nil {
					return nil, fmt.Errorf("lab: opening %s: %w", pty.Path(), err)
				}
				ports[name] = pos
				l.closers = append(l.closers, pos.Close)
				continue
			}
			devSide, posSide := serial.Pipe()
			attach[name](devSide)
			if cfg.Settle != nil {
				cfg.Settle()
			}
			ports[name] = posSide
			l.closers = append(l.closers, posSide.Close)
		}
	}
	return &drivers{
		printer: printer.NewDriver(ports["printer"]),
		reader:  cardreader.NewDriver(ports["cardreader"], cardreader.DriverConfig{Logger: cfg.Logger}),
		pinpad:  pinpad.NewDriver(ports["pinpad"], pinpad.DriverConfig{Logger: cfg.Logger}),
		scanner: scanner.NewDriver(ports["scanner"], nil),
	}, nil
}

// reachDevices sets l.Devices. External devices are reached through their
// control API and reset there, since the last scenario left them as it
// pleased; without the API every device step fails with ErrNoDevices.
func (l *Lab) reachDevices(ctx context.Context) error {
	if l.Printer != nil {
		l.Devices = &LocalDevices{Printer: l.Printer, Reader: l.Reader, PINPad: l.PINPad, Scanner: l.Scanner}
		return nil
	}
	if l.cfg.ControlAddr == "" {
		l.Devices = noDevices{}
		return nil
	}
	c := NewControlClient(l.cfg.ControlAddr, l.cfg.ControlToken)
	if err := c.Reset(ctx); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	l.Devices = c
	return nil
}

func (l *Lab) hostEvent(e acquirer.Event) {
	kind := "iso_in"
	if e.Dir == "out" {
		kind = "iso_out"
	}
	l.Recorder.Add(Event{Source: "host", Kind: kind, MTI: e.MTI, Code: e.RespCode, Fields: e.Fields, Text: e.Note})
}

func (l *Lab) terminalEvent(e terminal.Event) {
	ev := Event{Source: "terminal", Kind: e.Kind, Text: e.Text, MTI: e.MTI, Fields: e.Fields}
	if e.Fields != nil {
		ev.Code = e.Fields["39"]
	}
	if e.Kind == "state" {
		ev.Text = string(e.State)
	}
	l.Recorder.Add(ev)
}

// Close closes every part in reverse order of starting and waits for all
// of their goroutines.
func (l *Lab) Close() error {
	l.once.Do(func() {
		var errs []error
		for i := len(l.closers) - 1; i >= 0; i-- {
			if err := l.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) {
				errs = append(errs, err)
			}
		}
		l.err = errors.Join(errs...)
	})
	return l.err
}
