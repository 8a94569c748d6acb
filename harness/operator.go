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
	if f, ok := deviceActions(d.Printer, d.Reader, d.PINPad, d.Scanner)[device][action]; ok {
		return f(arg)
	}
	return fmt.Errorf("unknown device action %q %q; see docs/control-api.md for the valid ones", device, action)
}

// deviceActions is the one table of operator actions on the devices
// present, by device and action as the control API names them; arg is
// the card alias of insert, tap and swipe, the PIN of pinpad type, the
// code of scanner scan, and unused by the others. LocalDevices calls it
// directly; the control API puts its input checks in front.
func deviceActions(p *printer.Printer, rd *cardreader.Reader, pad *pinpad.Pad, s *scanner.Scanner) map[string]map[string]func(arg string) error {
	simple := func(f func()) func(string) error { return func(string) error { f(); return nil } }
	t := map[string]map[string]func(string) error{}
	if rd != nil {
		t["cardreader"] = map[string]func(string) error{
			"insert": rd.Insert, "tap": rd.Tap, "swipe": rd.Swipe,
			"remove": simple(rd.Remove), "chip-error": simple(rd.ChipError), "bad-swipe": simple(rd.BadSwipe),
			"pull-early": simple(rd.PullEarly), "unplug": simple(rd.Unplug), "plug": simple(rd.Plug),
		}
	}
	if pad != nil {
		t["pinpad"] = map[string]func(string) error{
			"type": pad.Type, "cancel": simple(pad.Cancel), "break": simple(pad.Break), "fix": simple(pad.Fix),
		}
	}
	if p != nil {
		t["printer"] = map[string]func(string) error{
			"paper-out": simple(p.PaperOut), "near-end": simple(p.PaperNearEnd), "load-paper": simple(p.LoadPaper),
			"open-cover": simple(p.OpenCover), "close-cover": simple(p.CloseCover),
			"break": simple(p.Break), "fix": simple(p.Fix),
		}
	}
	if s != nil {
		t["scanner"] = map[string]func(string) error{
			"scan": s.Scan, "break": simple(s.Break), "garble": simple(s.Garble), "fix": simple(s.Fix),
		}
	}
	return t
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
