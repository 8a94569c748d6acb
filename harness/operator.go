package harness

import (
	"context"
	"errors"
	"fmt"

	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
)

// Devices is what the scenario steps do to the four devices and read from
// them. LocalDevices works on devices in this process; ControlClient on
// those of a separate `possim devices`, through its control API. The steps
// use only this, so they read the same in every mode.
type Devices interface {
	// Act does one operator action. device and action are named as in the
	// control API (cardreader insert, printer paper-out, scanner garble,
	// ...); arg is the card alias of insert, tap and swipe, the PIN of
	// pinpad type, the code of scanner scan, and "" for the others.
	Act(ctx context.Context, device, action, arg string) error
	// PrinterStatus is what the printer would answer to DLE EOT now.
	PrinterStatus(ctx context.Context) (printer.Status, error)
	// Receipts are the receipts cut since the lab started, oldest first.
	Receipts(ctx context.Context) ([]printer.Receipt, error)
	// PINPadDisplay is what the PIN pad's screen shows ("\n" between
	// lines).
	PINPadDisplay(ctx context.Context) (string, error)
}

// LocalDevices are the lab's own devices, acted on by direct calls: under
// synctest nothing leaves the bubble and a seed gives the same timeline.
type LocalDevices struct {
	Printer *printer.Printer
	Reader  *cardreader.Reader
	PINPad  *pinpad.Pad
	Scanner *scanner.Scanner
}

// Act calls the device's method for the action.
func (d *LocalDevices) Act(_ context.Context, device, action, arg string) error {
	simple := func(f func()) error { f(); return nil }
	switch device + " " + action {
	case "cardreader insert":
		return d.Reader.Insert(arg)
	case "cardreader tap":
		return d.Reader.Tap(arg)
	case "cardreader swipe":
		return d.Reader.Swipe(arg)
	case "cardreader remove":
		return simple(d.Reader.Remove)
	case "cardreader chip-error":
		return simple(d.Reader.ChipError)
	case "cardreader bad-swipe":
		return simple(d.Reader.BadSwipe)
	case "cardreader pull-early":
		return simple(d.Reader.PullEarly)
	case "cardreader unplug":
		return simple(d.Reader.Unplug)
	case "cardreader plug":
		return simple(d.Reader.Plug)
	case "pinpad type":
		return d.PINPad.Type(arg)
	case "pinpad cancel":
		return simple(d.PINPad.Cancel)
	case "pinpad break":
		return simple(d.PINPad.Break)
	case "pinpad fix":
		return simple(d.PINPad.Fix)
	case "scanner scan":
		return d.Scanner.Scan(arg)
	case "scanner break":
		return simple(d.Scanner.Break)
	case "scanner garble":
		return simple(d.Scanner.Garble)
	case "scanner fix":
		return simple(d.Scanner.Fix)
	case "printer paper-out":
		return simple(d.Printer.PaperOut)
	case "printer near-end":
		return simple(d.Printer.PaperNearEnd)
	case "printer load-paper":
		return simple(d.Printer.LoadPaper)
	case "printer open-cover":
		return simple(d.Printer.OpenCover)
	case "printer close-cover":
		return simple(d.Printer.CloseCover)
	case "printer break":
		return simple(d.Printer.Break)
	case "printer fix":
		return simple(d.Printer.Fix)
	}
	return fmt.Errorf("unknown device action %q %q; see docs/control-api.md for the valid ones", device, action)
}

// PrinterStatus reads the printer's state.
func (d *LocalDevices) PrinterStatus(context.Context) (printer.Status, error) {
	return d.Printer.Status(), nil
}

// Receipts returns the printer's receipts.
func (d *LocalDevices) Receipts(context.Context) ([]printer.Receipt, error) {
	return d.Printer.Receipts(), nil
}

// PINPadDisplay reads the pad's screen.
func (d *LocalDevices) PINPadDisplay(context.Context) (string, error) {
	return d.PINPad.Display(), nil
}

// ErrNoDevices is returned by a lab's Devices when the devices are
// someone else's and no control API was given to reach them.
var ErrNoDevices = errors.New("this step acts on the devices, and this run uses external devices (--devices) without their control API: add --control ADDR, the address given to possim devices --control")

// noDevices stands in for the devices in that case.
type noDevices struct{}

func (noDevices) Act(context.Context, string, string, string) error { return ErrNoDevices }
func (noDevices) PrinterStatus(context.Context) (printer.Status, error) {
	return printer.Status{}, ErrNoDevices
}
func (noDevices) Receipts(context.Context) ([]printer.Receipt, error) { return nil, ErrNoDevices }
func (noDevices) PINPadDisplay(context.Context) (string, error)       { return "", ErrNoDevices }
