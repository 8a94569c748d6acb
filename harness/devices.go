package harness

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
	"github.com/possim/possim/virtualdevices/serial"
)

// DeviceNames are the four virtual devices of a rack, in the order they
// are opened; each is also the name of its pty link in the rack's Dir.
var DeviceNames = []string{"cardreader", "pinpad", "printer", "scanner"}

// RackConfig builds a Rack.
type RackConfig struct {
	Profile *profile.Profile // nil: the embedded default
	// Dir holds the pty links DIR/cardreader, DIR/pinpad, DIR/printer,
	// DIR/scanner and the printed receipts DIR/receipts/NNNN.txt.
	Dir    string
	Logger *slog.Logger
	// Recorder receives every device event as Event{Source: device, Kind,
	// Text: detail}; nil makes a new one (Rack.Recorder).
	Recorder *Recorder
	// Seed drives the card reader's unpredictable numbers.
	Seed uint64
}

// Rack is the four virtual devices on real ptys, for POS software outside
// the process (`possim devices`). A Lab makes its own devices; a Rack is
// for when the terminal under test is someone else's.
type Rack struct {
	Printer  *printer.Printer
	Reader   *cardreader.Reader
	PINPad   *pinpad.Pad
	Scanner  *scanner.Scanner
	Recorder *Recorder
	// Profile is the profile the devices were made from (the default one
	// when RackConfig.Profile was nil).
	Profile *profile.Profile

	paths   map[string]string
	closers []func() error // in reverse order of opening
	once    sync.Once
	err     error
}

// NewRack starts the four devices, each on a pty linked at Dir/NAME. On
// error everything already opened is closed again.
func NewRack(cfg RackConfig) (rack *Rack, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("rack: a directory for the ptys is required")
	}
	if cfg.Profile == nil {
		cfg.Profile = profile.Default()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Recorder == nil {
		cfg.Recorder = NewRecorder(nil)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("rack: %w", err)
	}
	r := &Rack{Recorder: cfg.Recorder, Profile: cfg.Profile, paths: map[string]string{}}
	defer func() {
		if err != nil {
			r.Close()
			rack = nil
		}
	}()
	record := func(source string) func(kind, detail string) {
		return func(kind, detail string) {
			cfg.Recorder.Add(Event{Source: source, Kind: kind, Text: detail})
		}
	}

	r.Printer = printer.New(printer.Config{Name: "printer", ReceiptDir: cfg.Dir, Chinese: cfg.Profile.Locale == "zh",
		Logger:  cfg.Logger.With("part", "printer"),
		OnEvent: func(e printer.Event) { record("printer")(e.Kind, e.Detail) }})
	r.closers = append(r.closers, r.Printer.Close)
	r.Reader, err = cardreader.New(cardreader.Config{Cards: cardreader.CardsFromProfile(cfg.Profile.Cards),
		IssuerMasterKey: cfg.Profile.Keys.IMK(), Logger: cfg.Logger.With("part", "cardreader"),
		Rand:    rand.New(rand.NewPCG(cfg.Seed, 2)),
		OnEvent: func(e cardreader.Event) { record("cardreader")(e.Kind, e.Detail) }})
	if err != nil {
		return nil, fmt.Errorf("rack: card reader: %w", err)
	}
	r.closers = append(r.closers, r.Reader.Close)
	r.PINPad, err = pinpad.New(pinpad.Config{MasterKey: cfg.Profile.Keys.TMK(), Logger: cfg.Logger.With("part", "pinpad"),
		OnEvent: func(e pinpad.Event) { record("pinpad")(e.Kind, e.Detail) }})
	if err != nil {
		return nil, fmt.Errorf("rack: PIN pad: %w", err)
	}
	r.closers = append(r.closers, r.PINPad.Close)
	r.Scanner = scanner.New(scanner.Config{Name: "scanner", Logger: cfg.Logger.With("part", "scanner"),
		OnEvent: func(e scanner.Event) { record("scanner")(e.Kind, e.Detail) }})
	r.closers = append(r.closers, r.Scanner.Close)

	attach := map[string]func(io.ReadWriteCloser){
		"cardreader": r.Reader.Attach, "pinpad": r.PINPad.Attach,
		"printer": r.Printer.Attach, "scanner": r.Scanner.Attach,
	}
	for _, name := range DeviceNames {
		pty, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(cfg.Dir, name), Logger: cfg.Logger.With("part", name)})
		if err != nil {
			return nil, fmt.Errorf("rack: %s pty: %w", name, err)
		}
		// The device owns the pty from here: its Close closes it.
		attach[name](pty)
		r.paths[name] = pty.Path()
	}
	return r, nil
}

// Paths maps each device name to the path POS software opens.
func (r *Rack) Paths() map[string]string {
	out := make(map[string]string, len(r.paths))
	for k, v := range r.paths {
		out[k] = v
	}
	return out
}

// Close closes every device (and with it its pty) and waits for their
// goroutines.
func (r *Rack) Close() error {
	r.once.Do(func() {
		var errs []error
		for i := len(r.closers) - 1; i >= 0; i-- {
			if err := r.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) {
				errs = append(errs, err)
			}
		}
		r.err = errors.Join(errs...)
	})
	return r.err
}
