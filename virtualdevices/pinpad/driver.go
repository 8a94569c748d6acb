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
	client  *serial.CommandClient
	timeout time.Duration
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
		client: serial.NewCommandClient(link, serial.CommandClientConfig{
			Frame:    cfg.Link,
			Logger:   cfg.Logger.With("driver", DeviceName),
			Timeout:  cfg.Timeout,
			NoAnswer: ErrNoPinPad,
		}),
		timeout: cfg.Timeout,
	}
}

// Close closes the link.
func (d *Driver) Close() error { return d.client.Close() }

// Status checks that the pad answers.
func (d *Driver) Status(ctx context.Context) error {
	_, err := d.KeyCheck(ctx)
	return err
}

// KeyCheck returns the check value of the loaded session key, "" if none.
func (d *Driver) KeyCheck(ctx context.Context) (string, error) {
	m, err := d.client.Exchange(ctx, serial.Command{Line: cmdStatus})
	if err != nil {
		return "", err
	}
	return m.Field("KCV"), nil
}

// LoadKey loads a session PIN key encrypted under the terminal master key;
// the pad checks it against kcv.
func (d *Driver) LoadKey(ctx context.Context, encKey []byte, kcv string) error {
	cmd := fmt.Sprintf("%s %s %s", cmdLoadKey, strings.ToUpper(hex.EncodeToString(encKey)), strings.ToUpper(kcv))
	m, err := d.client.Exchange(ctx, serial.Command{Line: cmd})
	if err != nil {
		return err
	}
	if m.Status == swErr && m.Detail == "KCV mismatch" {
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
	m, err := d.client.Exchange(ctx, serial.Command{
		Line: cmd,
		Wait: timeout + d.timeout,
		// A prompt left up would take a PIN nobody asked for.
		CancelWith: cmdCancel,
	})
	if err != nil {
		return nil, err
	}
	switch m.Status {
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
	m, err := d.client.Exchange(ctx, serial.Command{Line: cmdDisplay + " " + text})
	if err != nil {
		return err
	}
	return expectOK(m)
}

func expectOK(m serial.Message) error {
	switch m.Status {
	case swOK:
		return nil
	case swErr:
		return &DeviceError{Cmd: m.Cmd, Reason: m.Detail}
	}
	return &DeviceError{Cmd: m.Cmd, Reason: "unexpected status " + serial.FirstWord(m.Status)}
}
