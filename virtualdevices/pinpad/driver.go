package pinpad

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

// Errors a terminal branches on.
var (
	ErrCancelled = errors.New("pinpad: PIN entry cancelled")
	ErrTimeout   = errors.New("pinpad: no PIN entered in time")
	ErrNoKey     = errors.New("pinpad: no PIN key loaded")
	ErrNoPinPad  = errors.New("pinpad: PIN pad not answering")
	ErrKeyCheck  = errors.New("pinpad: key check value mismatch")
)

// DeviceError is an ERR answer: the pad refused a command.
type DeviceError struct {
	Cmd, Reason string
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("pinpad: %s refused: %s", e.Cmd, e.Reason)
}

// DriverConfig configures the POS-side driver.
type DriverConfig struct {
	// Timeout bounds the answer to a quick command and is the grace added
	// to a PIN prompt's own timeout. Zero means 3 s.
	Timeout time.Duration
	Logger  *slog.Logger
	// Link tunes the frame codec; the zero value takes serial's defaults.
	Link serial.FrameConfig
}

// Driver speaks the PIN pad protocol from the POS side. Its methods are
// safe for concurrent use; commands go one at a time.
type Driver struct {
	link    *serial.FrameLink
	timeout time.Duration
	log     *slog.Logger
	sem     chan struct{}
}

// NewDriver wraps a byte link to a PIN pad.
func NewDriver(link io.ReadWriteCloser, cfg DriverConfig) *Driver {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Link.Logger == nil {
		cfg.Link.Logger = cfg.Logger
	}
	return &Driver{
		link:    serial.NewFrameLink(link, cfg.Link),
		timeout: cfg.Timeout,
		log:     cfg.Logger.With("driver", DeviceName),
		sem:     make(chan struct{}, 1),
	}
}

// Close closes the link.
func (d *Driver) Close() error { return d.link.Close() }

// Status checks that the pad answers.
func (d *Driver) Status(ctx context.Context) error {
	_, err := d.KeyCheck(ctx)
	return err
}

// KeyCheck returns the check value of the loaded session key, "" if none.
func (d *Driver) KeyCheck(ctx context.Context) (string, error) {
	m, err := d.exchange(ctx, cmdStatus, cmdStatus, d.timeout)
	if err != nil {
		return "", err
	}
	return m.get("KCV"), nil
}

// LoadKey loads a session PIN key encrypted under the terminal master key;
// the pad checks it against kcv.
func (d *Driver) LoadKey(ctx context.Context, encKey []byte, kcv string) error {
	cmd := fmt.Sprintf("%s %s %s", cmdLoadKey, strings.ToUpper(hex.EncodeToString(encKey)), strings.ToUpper(kcv))
	m, err := d.exchange(ctx, cmdLoadKey, cmd, d.timeout)
	if err != nil {
		return err
	}
	if m.SW == swErr && m.Detail == "KCV mismatch" {
		return ErrKeyCheck
	}
	return expectOK(m)
}

// GetPIN shows the amount and asks for the PIN of pan; it returns the ISO
// 9564 format 0 PIN block encrypted under the session key. If ctx ends
// first the prompt is cancelled at the pad.
func (d *Driver) GetPIN(ctx context.Context, pan string, amount int64, timeout time.Duration) ([]byte, error) {
	ms := max(timeout.Milliseconds(), 1)
	cmd := fmt.Sprintf("%s %s %d %d", cmdPIN, pan, amount, ms)
	m, err := d.exchange(ctx, cmdPIN, cmd, timeout+d.timeout)
	if err != nil {
		return nil, err
	}
	switch m.SW {
	case swOK:
		blk, err := hex.DecodeString(m.Detail)
		if err != nil || len(blk) != 8 {
			return nil, fmt.Errorf("pinpad: PIN answer is not an 8-byte block")
		}
		return blk, nil
	case swCancel:
		return nil, ErrCancelled
	case swTimeout:
		return nil, ErrTimeout
	case swNoKey:
		return nil, ErrNoKey
	}
	return nil, expectOK(m)
}

// Display shows text on the pad ("\n" separates lines; other control
// characters are refused).
func (d *Driver) Display(ctx context.Context, text string) error {
	if strings.ContainsFunc(text, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7F }) {
		return fmt.Errorf("pinpad: display text holds a control character")
	}
	m, err := d.exchange(ctx, cmdDisplay, cmdDisplay+" "+text, d.timeout)
	if err != nil {
		return err
	}
	return expectOK(m)
}

func expectOK(m message) error {
	switch m.SW {
	case swOK:
		return nil
	case swErr:
		return &DeviceError{Cmd: m.Cmd, Reason: m.Detail}
	}
	return &DeviceError{Cmd: m.Cmd, Reason: "unexpected status " + firstWords(m.SW)}
}

// exchange sends one command and returns its answer, skipping stale
// answers to earlier commands.
func (d *Driver) exchange(ctx context.Context, name, cmd string, wait time.Duration) (message, error) {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return message{}, ctx.Err()
	}
	defer func() { <-d.sem }()
	d.log.Debug("command", "cmd", name)
	if err := d.link.Send(ctx, []byte(cmd)); err != nil {
		if ctx.Err() != nil {
			return message{}, ctx.Err()
		}
		return message{}, fmt.Errorf("%w: sending %s: %v", ErrNoPinPad, name, err)
	}
	m, err := d.await(ctx, name, wait)
	if err != nil && ctx.Err() != nil && name == cmdPIN {
		d.cancelPending()
	}
	return m, err
}

func (d *Driver) await(parent context.Context, name string, wait time.Duration) (message, error) {
	ctx, cancel := context.WithTimeout(parent, wait)
	defer cancel()
	for {
		data, err := d.link.Recv(ctx)
		if err != nil {
			switch {
			case parent.Err() != nil:
				return message{}, parent.Err()
			case ctx.Err() != nil:
				return message{}, fmt.Errorf("%w: no answer to %s within %v", ErrNoPinPad, name, wait)
			}
			return message{}, fmt.Errorf("%w: receiving %s: %v", ErrNoPinPad, name, err)
		}
		m, err := decodeMessage(data)
		if err != nil {
			d.log.Warn("skipping bad answer", "err", err)
			continue
		}
		if m.Cmd != name {
			d.log.Debug("skipping stale answer", "cmd", m.Cmd, "sw", m.SW)
			continue
		}
		return m, nil
	}
}

// cancelPending sends CANCEL after the caller gave up on a prompt.
func (d *Driver) cancelPending() {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	if err := d.link.Send(ctx, []byte(cmdCancel)); err != nil {
		d.log.Warn("cancelling PIN prompt", "err", err)
		return
	}
	if _, err := d.await(ctx, cmdCancel, d.timeout); err != nil {
		d.log.Warn("cancelling PIN prompt", "err", err)
	}
}
