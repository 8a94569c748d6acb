package pinpad

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/possim/possim/card"
	"github.com/possim/possim/virtualdevices/serial"
)

// DeviceName is the Device field of the pad's events.
const DeviceName = "pinpad"

// IdleText is what the display shows when nothing is asked.
const IdleText = "WELCOME"

// Event is something observable that happened at the pad. It never
// carries a PIN or a PIN block; PANs are masked.
type Event struct {
	Device string
	Kind   string
	Detail string
}

// Config configures a virtual PIN pad.
type Config struct {
	// MasterKey is the terminal master key the pad was injected with; it
	// decrypts the session PIN keys the terminal loads.
	MasterKey []byte
	Logger    *slog.Logger
	OnEvent   func(Event)
	// Link tunes the frame codec; the zero value takes serial's defaults.
	Link serial.FrameConfig
}

// Pad is the virtual PIN pad.
type Pad struct {
	cfg   Config
	log   *slog.Logger
	srv   *serial.CommandServer
	cable serial.Cable

	mu      sync.Mutex
	key     []byte // session PIN key
	kcv     string
	display string
	pending *pinOp
	ahead   *keyAction // the cardholder acted before the prompt
	events  []Event
}

// keyAction is what the cardholder did: a PIN then Enter, or Cancel.
type keyAction struct {
	pin    string
	cancel bool
}

type pinOp struct {
	pan    string
	amount int64
	done   chan keyAction
	sent   chan struct{}
}

// New checks the master key and returns a pad with no session key.
func New(cfg Config) (*Pad, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := card.KCV(cfg.MasterKey); err != nil {
		return nil, fmt.Errorf("pinpad: master key: %w", err)
	}
	p := &Pad{cfg: cfg, log: cfg.Logger.With("device", DeviceName), display: IdleText}
	p.srv = serial.NewCommandServer(serial.CommandServerConfig{
		Frame: cfg.Link, Logger: p.log, Cable: &p.cable, Handle: p.handle,
	})
	return p, nil
}

// Attach serves the protocol on port in the background until Close.
func (p *Pad) Attach(port io.ReadWriteCloser) { p.srv.Attach(port) }

// Close stops every link, closes the ports given to Attach and waits for
// the pad's goroutines.
func (p *Pad) Close() error { return p.srv.Close() }

// Serve answers commands on port until ctx ends or the link fails, then
// closes the link (and port).
func (p *Pad) Serve(ctx context.Context, port io.ReadWriteCloser) error {
	if err := p.srv.Serve(ctx, port); err != nil {
		return fmt.Errorf("pinpad: %w", err)
	}
	return nil
}

func (p *Pad) emit(kind, detail string) {
	p.events = append(p.events, Event{Device: DeviceName, Kind: kind, Detail: detail})
}

// unlock releases the lock, then delivers queued events, so OnEvent may
// call back into the pad (type a PIN when the prompt shows).
func (p *Pad) unlock() {
	ev := p.events
	p.events = nil
	p.mu.Unlock()
	if p.cfg.OnEvent == nil {
		return
	}
	for _, e := range ev {
		p.cfg.OnEvent(e)
	}
}

func (p *Pad) setDisplay(text string) {
	p.display = text
	p.emit("display", text)
}

// Display returns what the pad's screen shows; lines are separated by \n.
func (p *Pad) Display() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.display
}

// KeyLoaded returns the KCV of the session key, or "" before LOADKEY.
func (p *Pad) KeyLoaded() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kcv
}

// Type is the cardholder keying pin and pressing Enter. Typed before the
// prompt, it is held for the next prompt so a script need not race the
// terminal.
func (p *Pad) Type(pin string) error {
	if len(pin) < 4 || len(pin) > 12 || strings.Trim(pin, "0123456789") != "" {
		return fmt.Errorf("pinpad: a PIN is 4 to 12 digits")
	}
	p.act(keyAction{pin: pin})
	return nil
}

// Cancel is the cardholder pressing the red key: at the prompt it cancels
// the PIN entry; before it, the next prompt.
func (p *Pad) Cancel() { p.act(keyAction{cancel: true}) }

func (p *Pad) act(a keyAction) {
	p.mu.Lock()
	defer p.unlock()
	if p.pending == nil {
		p.ahead = &a
		return
	}
	p.finish(a)
}

// finish ends the pending prompt with the cardholder's action.
func (p *Pad) finish(a keyAction) {
	op := p.pending
	p.pending = nil
	if a.cancel {
		p.emit("cancel", "")
		p.setDisplay("CANCELLED")
	} else {
		p.emit("pin-entered", card.MaskPAN(op.pan))
		p.setDisplay("PLEASE WAIT")
	}
	op.done <- a
}

// Break makes the pad stop answering (cable pulled, pad dead); a pending
// prompt is dropped.
func (p *Pad) Break() {
	p.mu.Lock()
	defer p.unlock()
	p.cable.Unplug()
	if op := p.pending; op != nil {
		p.pending = nil
		close(op.done)
	}
	p.emit("break", "")
}

// Fix brings a broken pad back.
func (p *Pad) Fix() {
	p.mu.Lock()
	defer p.unlock()
	p.cable.Plug()
	p.emit("fix", "")
}

// amountText formats minor units as "12.34".
func amountText(a int64) string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s%d.%02d", sign, a/100, a%100)
}
