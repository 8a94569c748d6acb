package printer

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
	"github.com/possim/possim/virtualdevices/serial/serialtest"
)

// ptyPrinter is a printer served on a real pty, as `possim devices` runs it.
type ptyPrinter struct {
	*Printer
	pty *serial.PTY
}

func (d ptyPrinter) Close() error { return d.Printer.Close() } // Close closes the attached pty

func startPTYPrinter(t *testing.T, cfg Config) (ptyPrinter, string) {
	t.Helper()
	p, _ := newTestPrinter(t, cfg)
	pty, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(t.TempDir(), "printer")})
	if err != nil {
		t.Fatal(err)
	}
	p.Attach(pty)
	return ptyPrinter{p, pty}, pty.Path()
}

// TestPTY prints through a pty opened as a POS application opens a serial
// printer: the symlink, raw mode.
func TestPTY(t *testing.T) {
	dev, path := startPTYPrinter(t, Config{Chinese: true})
	for round := 1; round <= 2; round++ { // the second round reopens the path
		port, err := serial.OpenRaw(path)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDriver(port)
		d.StatusTimeout = 10 * time.Second // real time on a busy machine
		if err := d.Print(t.Context(), chineseReceipt()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got, want := len(dev.Receipts()), round; got != want {
			t.Fatalf("round %d: %d receipts", round, got)
		}
		dev.PaperOut()
		if err := d.Print(t.Context(), asciiReceipt()); !errors.Is(err, ErrNotReady) {
			t.Errorf("round %d: Print with paper out = %v", round, err)
		}
		dev.LoadPaper()
		if st, err := d.Status(t.Context()); err != nil || !st.Ready() {
			t.Errorf("round %d: status after LoadPaper %+v, %v", round, st, err)
		}
		_ = port.Close()
	}
	want, _ := newTestPrinter(t, Config{})
	feed(t, want, chineseReceipt())
	if got := dev.Receipts()[1].Text; got != want.Receipts()[0].Text {
		t.Errorf("over the pty:\n%s\nwant:\n%s", got, want.Receipts()[0].Text)
	}
}

func TestPTYConformance(t *testing.T) {
	serialtest.Run(t, serialtest.Device{
		Open: func(t *testing.T) (io.Closer, string) {
			return startPTYPrinter(t, Config{})
		},
		Probe:     []byte{dle, eot, 1},
		WantReply: func(got []byte) bool { return bytes.HasSuffix(got, []byte{0x12}) },
		Raw:       true,
		Garbage:   serialtest.DefaultGarbage, // the printer has no frames, so noise is text and control bytes
	})
}
