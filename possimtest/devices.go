package possimtest

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
)

// Devices are the four virtual devices: card reader, PIN pad, ESC/POS
// printer and barcode scanner.
type Devices struct {
	reader  *cardreader.Reader
	pinpad  *pinpad.Pad
	printer *printer.Printer
	scanner *scanner.Scanner
	paths   map[string]string // device name -> pty path; empty in memory

	dir        string
	dirAtClose bool // the tests check the devices closed before their directory went
}

// Receipt is one receipt the printer cut.
type Receipt struct {
	Seq  int       // 1 for the first receipt
	Text string    // as printed, one line per printed line
	Time time.Time // when it was cut
}

// NewDevices starts the four devices, each on a real pty linked at
// t.TempDir()/cardreader, /pinpad, /printer and /scanner, for POS software
// that opens serial ports (see Path). They are closed, and their
// goroutines have ended, before the directory is removed.
func NewDevices(t testing.TB, opts ...Option) *Devices {
	t.Helper()
	c := newConfig(opts)
	dir := t.TempDir() // before Cleanup: removed after the devices are closed
	rack, err := harness.NewRack(harness.RackConfig{Profile: c.profile, Dir: dir, Logger: c.logger, Seed: c.seed})
	if err != nil {
		t.Fatalf("possimtest: devices: %v", err)
	}
	d := &Devices{reader: rack.Reader, pinpad: rack.PINPad, printer: rack.Printer, scanner: rack.Scanner,
		paths: rack.Paths(), dir: dir}
	t.Cleanup(func() {
		_, err := os.Stat(dir)
		d.dirAtClose = err == nil
		if err := rack.Close(); err != nil {
			t.Errorf("possimtest: closing the devices: %v", err)
		}
	})
	return d
}

// DeviceNames are the names Path takes.
func DeviceNames() []string { return slices.Clone(harness.DeviceNames) }

// Path is where POS software opens the device named name (cardreader,
// pinpad, printer or scanner): a symlink to the device's pty. It is empty
// for the in-memory devices of a lab that is not Wired, and for a name
// that is not a device (DeviceNames lists them).
func (d *Devices) Path(name string) string { return d.paths[name] }

// Insert puts the chip card alias of the profile in the slot, taking out
// the card that is there. The error lists the valid cards.
func (d *Devices) Insert(card string) error {
	d.reader.Remove()
	return d.reader.Insert(card)
}

// Tap presents the card alias to the contactless reader.
func (d *Devices) Tap(card string) error { return d.reader.Tap(card) }

// Swipe swipes the card alias.
func (d *Devices) Swipe(card string) error { return d.reader.Swipe(card) }

// RemoveCard takes the card out of the slot.
func (d *Devices) RemoveCard() { d.reader.Remove() }

// EnterPIN types pin on the PIN pad, for the PIN entry running or the next
// one.
func (d *Devices) EnterPIN(pin string) error { return d.pinpad.Type(pin) }

// CancelPIN presses cancel on the PIN pad.
func (d *Devices) CancelPIN() { d.pinpad.Cancel() }

// PaperOut runs the printer out of paper; LoadPaper puts a roll back.
func (d *Devices) PaperOut() { d.printer.PaperOut() }

// LoadPaper puts a new roll in the printer.
func (d *Devices) LoadPaper() { d.printer.LoadPaper() }

// Scan reads code with the scanner, as if a product's barcode or a
// customer's payment code were held to it.
func (d *Devices) Scan(code string) error { return d.scanner.Scan(code) }

// Printed are the receipts the printer has cut, oldest first, as text.
func (d *Devices) Printed() []Receipt {
	rs := d.printer.Receipts()
	out := make([]Receipt, len(rs))
	for i, r := range rs {
		out[i] = Receipt{Seq: r.Seq, Text: r.Text, Time: r.Time}
	}
	return out
}
