package terminal

import (
	"context"
	"errors"
	"time"

	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
)

// The terminal sees its peripherals only through these interfaces, which
// the POS-side drivers of virtualdevices/* satisfy, so a real device on a
// serial port works the same as a virtual one.

// Printer is an ESC/POS receipt printer (printer.Driver).
type Printer interface {
	Status(ctx context.Context) (printer.Status, error)
	Print(ctx context.Context, receipt []byte) error
}

// CardReader is a chip, contactless and magstripe reader (cardreader.Driver).
type CardReader interface {
	Status(ctx context.Context) error
	WaitCard(ctx context.Context, req cardreader.Request) (cardreader.Read, error)
	Complete(ctx context.Context, arpc []byte, respCode string) error
}

// PINPad is an encrypting PIN pad (pinpad.Driver).
type PINPad interface {
	Status(ctx context.Context) error
	LoadKey(ctx context.Context, encKey []byte, kcv string) error
	GetPIN(ctx context.Context, pan string, amount int64, timeout time.Duration) ([]byte, error)
	Display(ctx context.Context, text string) error
}

// Scanner is a barcode and QR scanner (scanner.Driver).
type Scanner interface {
	Probe(ctx context.Context) error
	ReadScan(ctx context.Context) (string, error)
}

var (
	_ Printer    = (*printer.Driver)(nil)
	_ CardReader = (*cardreader.Driver)(nil)
)

var (
	_ PINPad  = (*pinpad.Driver)(nil)
	_ Scanner = (*scanner.Driver)(nil)
)

// pinError turns a PIN pad error into the display text and a reason.
func pinError(err error) (display, reason string) {
	switch {
	case errors.Is(err, pinpad.ErrCancelled):
		return "PIN ENTRY CANCELLED", "cardholder cancelled PIN entry"
	case errors.Is(err, pinpad.ErrTimeout):
		return "PIN TIMEOUT - TRANSACTION CANCELLED", "no PIN entered in time"
	case errors.Is(err, pinpad.ErrNoKey):
		return "NO PIN KEY - PLEASE SIGN ON", "PIN pad has no session key"
	}
	return "PIN PAD FAULT", "PIN pad fault"
}
