package cardreader

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

// Errors a terminal branches on.
var (
	ErrChipRead    = errors.New("cardreader: chip read failed, swipe the card")
	ErrBadSwipe    = errors.New("cardreader: swipe unreadable, swipe again")
	ErrCardRemoved = errors.New("cardreader: card removed before completion")
	ErrTimeout     = errors.New("cardreader: no card presented in time")
	ErrCancelled   = errors.New("cardreader: card read cancelled")
	ErrNoReader    = errors.New("cardreader: reader not answering")
	ErrARPC        = errors.New("cardreader: card rejected the host's ARPC")
)

// DeviceError is an ERR answer: the reader refused a command.
type DeviceError struct {
	Cmd, Reason string
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("cardreader: %s refused: %s", e.Cmd, e.Reason)
}

// DriverConfig configures the POS-side driver.
type DriverConfig struct {
	// Timeout bounds the answer to a quick command, and is the grace
	// added to a WAIT's own timeout. Zero means 3 s.
	Timeout time.Duration
	Logger  *slog.Logger
	// Link tunes the frame codec; the zero value takes serial's defaults.
	Link serial.FrameConfig
}

// Request is what the terminal tells the reader (and the card) about the
// transaction it wants a card for.
type Request struct {
	Amount       int64 // minor units
	AmountOther  int64
	Modes        Modes  // zero means all
	Date         string // YYMMDD; empty: the reader's date
	CurrencyCode string // ISO 4217 numeric; empty: 156
	CountryCode  string // ISO 3166 numeric; empty: 156
	TxnType      byte   // EMV 9C: 0x00 purchase, 0x20 refund
	// UnpredictableNumber for the ARQC; zero lets the reader draw one.
	UnpredictableNumber [4]byte
	// Timeout is how long the reader waits for a card; zero means 30 s.
	Timeout time.Duration
}

// Driver speaks the reader protocol from the POS side. Its methods are
// safe for concurrent use; commands go one at a time.
type Driver struct {
	client  *serial.CommandClient
	timeout time.Duration

	mu   sync.Mutex
	last EntryMode // entry of the last read, for Complete
}

// NewDriver wraps a byte link to a reader (a pty, serial port or pipe).
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
			NoAnswer: ErrNoReader,
		}),
		timeout: cfg.Timeout,
	}
}

// Close closes the link.
func (d *Driver) Close() error { return d.client.Close() }

// Status checks that the reader answers.
func (d *Driver) Status(ctx context.Context) error {
	_, err := d.client.Exchange(ctx, serial.Command{Line: cmdStatus})
	return err
}

// CardPresent reports whether a card is in the chip slot.
func (d *Driver) CardPresent(ctx context.Context) (bool, error) {
	m, err := d.client.Exchange(ctx, serial.Command{Line: cmdRemove})
	if err != nil {
		return false, err
	}
	return m.Detail == "PRESENT", nil
}

// WaitRemoved waits up to timeout for the chip card to leave the slot; it
// returns ErrTimeout if the card is still there.
func (d *Driver) WaitRemoved(ctx context.Context, timeout time.Duration) error {
	ms := max(timeout.Milliseconds(), 1)
	m, err := d.client.Exchange(ctx, serial.Command{
		Line: cmdRemove + " " + strconv.FormatInt(ms, 10),
		Wait: timeout + d.timeout,
	})
	if err != nil {
		return err
	}
	if m.Status == swTimeout {
		return fmt.Errorf("card still inserted: %w", ErrTimeout)
	}
	return nil
}

// WaitCard asks for a card and waits until one is read, the reader times
// out, or ctx ends (then the wait is cancelled at the reader).
func (d *Driver) WaitCard(ctx context.Context, req Request) (Read, error) {
	if req.Modes == 0 {
		req.Modes = ModeAll
	}
	if req.Timeout <= 0 {
		req.Timeout = 30 * time.Second
	}
	cmd := fmt.Sprintf("%s %d %d %s", cmdWait, max(req.Timeout.Milliseconds(), 1), req.Amount, req.Modes)
	if req.Date != "" {
		cmd += " DATE=" + req.Date
	}
	if req.CurrencyCode != "" {
		cmd += " CUR=" + req.CurrencyCode
	}
	if req.CountryCode != "" {
		cmd += " CTRY=" + req.CountryCode
	}
	cmd += fmt.Sprintf(" TYPE=%02X", req.TxnType)
	if req.AmountOther != 0 {
		cmd += " OTHER=" + strconv.FormatInt(req.AmountOther, 10)
	}
	if req.UnpredictableNumber != [4]byte{} {
		cmd += " UN=" + strings.ToUpper(hex.EncodeToString(req.UnpredictableNumber[:]))
	}
	m, err := d.client.Exchange(ctx, serial.Command{
		Line: cmd,
		Wait: req.Timeout + d.timeout,
		// A WAIT left pending would read a card nobody asked for.
		CancelWith: cmdCancel,
	})
	if err != nil {
		return Read{}, err
	}
	switch m.Status {
	case swOK:
		rd, err := readFromMessage(m)
		if err != nil {
			return Read{}, fmt.Errorf("cardreader: bad WAIT answer: %w", err)
		}
		d.mu.Lock()
		d.last = rd.Entry
		d.mu.Unlock()
		return rd, nil
	case swTimeout:
		return Read{}, ErrTimeout
	case swCancel:
		return Read{}, ErrCancelled
	case swChipErr:
		return Read{}, ErrChipRead
	case swBadSwipe:
		return Read{}, ErrBadSwipe
	case swRemoved:
		return Read{}, ErrCardRemoved
	}
	return Read{}, unexpected(m)
}

// Complete gives the card the host's answer (second GENERATE AC): the card
// checks the ARPC (method 1) for the response code. It returns ErrARPC if
// the ARPC does not verify and ErrCardRemoved if the card was pulled. For a
// swiped card there is nothing to complete; for a tapped one the card has
// left the field, so both return nil.
func (d *Driver) Complete(ctx context.Context, arpc []byte, respCode string) error {
	d.mu.Lock()
	last := d.last
	d.mu.Unlock()
	if last != EntryChip && last != EntryTap {
		return nil
	}
	if len(arpc) != 8 || len(respCode) != 2 || strings.ContainsAny(respCode, " \n") {
		return fmt.Errorf("cardreader: completing: ARPC must be 8 bytes and the response code 2 characters")
	}
	cmd := fmt.Sprintf("%s %s %s", cmdARPC, strings.ToUpper(hex.EncodeToString(arpc)), respCode)
	m, err := d.client.Exchange(ctx, serial.Command{Line: cmd})
	if err != nil {
		return err
	}
	switch m.Status {
	case swOK:
		return nil
	case swFail:
		return ErrARPC
	case swRemoved:
		return ErrCardRemoved
	}
	return unexpected(m)
}

func unexpected(m serial.Message) error {
	if m.Status == swErr {
		return &DeviceError{Cmd: m.Cmd, Reason: m.Detail}
	}
	return &DeviceError{Cmd: m.Cmd, Reason: "unexpected status " + serial.FirstWord(m.Status)}
}
