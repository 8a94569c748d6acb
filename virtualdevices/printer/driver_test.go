package printer

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

func TestDriverBuilderRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := newTestPrinter(t, Config{})
		d := NewDriver(pipeLink(t, p))
		for i, data := range [][]byte{asciiReceipt(), chineseReceipt(), codesReceipt()} {
			if err := d.Print(t.Context(), data); err != nil {
				t.Fatalf("Print: %v", err)
			}
			// Print confirms with a status request answered after the
			// receipt was processed, so the receipt is there now.
			if n := len(p.Receipts()); n != i+1 {
				t.Fatalf("after %d prints: %d receipts", i+1, n)
			}
		}
		want, _ := newTestPrinter(t, Config{})
		feed(t, want, chineseReceipt())
		if got := p.Receipts()[1].Text; got != want.Receipts()[0].Text {
			t.Errorf("printed over the link:\n%s\nwant:\n%s", got, want.Receipts()[0].Text)
		}
	})
}

func TestDriverNotReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := newTestPrinter(t, Config{})
		d := NewDriver(pipeLink(t, p))
		receipt := NewBuilder(ASCII).Init().Line("SALE").Cut().Bytes()

		p.PaperNearEnd()
		if err := d.Print(t.Context(), receipt); err != nil {
			t.Fatalf("near end must still print: %v", err)
		}
		p.PaperOut()
		err := d.Print(t.Context(), receipt)
		var nr *NotReadyError
		if !errors.Is(err, ErrNotReady) || !errors.As(err, &nr) || nr.Status.Reason() != "paper out" || nr.During {
			t.Fatalf("Print with paper out = %v, want NotReadyError paper out", err)
		}
		if !nr.Status.PaperOut || !nr.Status.PaperNearEnd || nr.Status.Online {
			t.Errorf("status = %+v", nr.Status)
		}
		p.LoadPaper()
		if err := d.Print(t.Context(), receipt); err != nil {
			t.Fatalf("after LoadPaper: %v", err)
		}
		if n := len(p.Receipts()); n != 2 {
			t.Errorf("receipts = %d, want 2", n)
		}
	})
}

func TestDriverNoPrinter(t *testing.T) {
	tests := []struct {
		name string
		peer func(t *testing.T, conn net.Conn)
	}{
		// Something reads but never answers: a dead printer on a live port.
		{"silent", func(t *testing.T, conn net.Conn) { _, _ = io.Copy(io.Discard, conn) }},
		// Nobody reads at all: the write itself never completes.
		{"not reading", func(t *testing.T, conn net.Conn) {}},
		// Noise that is not a status byte.
		{"noise", func(t *testing.T, conn net.Conn) {
			for {
				if _, err := conn.Read(make([]byte, 3)); err != nil {
					return
				}
				if _, err := conn.Write([]byte{0xFF, 0x00}); err != nil {
					return
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pos, dev := net.Pipe()
				go tt.peer(t, dev)
				d := NewDriver(pos)
				d.StatusTimeout = 2 * time.Second
				start := time.Now()
				_, err := d.Status(t.Context())
				if !errors.Is(err, ErrNoResponse) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Status = %v, want ErrNoResponse", err)
				}
				if el := time.Since(start); el != 2*time.Second {
					t.Errorf("gave up after %v of virtual time, want 2s", el)
				}
				if err := d.Print(t.Context(), []byte("x")); !errors.Is(err, ErrNoResponse) {
					t.Errorf("Print = %v, want ErrNoResponse", err)
				}
				_ = pos.Close()
				_ = dev.Close()
			})
		})
	}
}

func TestDriverContextCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pos, dev := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, dev) }()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := NewDriver(pos).Status(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, ErrNoResponse) {
			t.Errorf("Status with cancelled ctx = %v, want context.Canceled", err)
		}
		_ = pos.Close()
		_ = dev.Close()
	})
}

func TestDriverLinkClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pos, dev := net.Pipe()
		_ = dev.Close()
		if _, err := NewDriver(pos).Status(t.Context()); err == nil || errors.Is(err, ErrNoResponse) {
			t.Errorf("Status on closed link = %v, want a link error", err)
		}
		_ = pos.Close()
	})
}

// TestDriverOverSerialPipe uses the buffered in-memory link of virtual mode.
func TestDriverOverSerialPipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := newTestPrinter(t, Config{})
		pos, dev := serial.Pipe()
		p.Attach(dev)
		d := NewDriver(pos)
		p.OpenCover()
		if err := d.Print(t.Context(), asciiReceipt()); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "cover open") {
			t.Errorf("Print with cover open = %v", err)
		}
		p.CloseCover()
		if err := d.Print(t.Context(), asciiReceipt()); err != nil {
			t.Fatal(err)
		}
		if r, ok := p.LastReceipt(); !ok || !strings.Contains(r.Text, "DEMO MART") {
			t.Errorf("receipt %q", r.Text)
		}
		_ = pos.Close()
		_ = p.Close()
	})
}

// TestPaperRunsOutWhilePrinting: the paper ends in the middle of a receipt.
// The rest is refused, the half page is thrown away, and Print tells the POS
// to print the receipt again.
func TestPaperRunsOutWhilePrinting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var p *Printer
		var once sync.Once
		p, rec := newTestPrinter(t, Config{OnEvent: func(e Event) {
			if e.Kind == EventCommand && e.Detail == "ESC E 1" {
				once.Do(p.PaperOut) // called on the serving goroutine, no lock held
			}
		}})
		d := NewDriver(pipeLink(t, p))
		err := d.Print(t.Context(), asciiReceipt())
		var nr *NotReadyError
		if !errors.As(err, &nr) || !nr.During || nr.Status.Reason() != "paper out" {
			t.Fatalf("Print = %v, want NotReadyError during printing", err)
		}
		if n := len(p.Receipts()); n != 0 {
			t.Errorf("%d receipts, want none", n)
		}
		if len(rec.kinds(EventRefused)) == 0 {
			t.Error("no refused events")
		}
		p.LoadPaper()
		if err := d.Print(t.Context(), asciiReceipt()); err != nil {
			t.Fatal(err)
		}
		want, _ := newTestPrinter(t, Config{})
		feed(t, want, asciiReceipt())
		if r, _ := p.LastReceipt(); r.Text != want.Receipts()[0].Text {
			t.Errorf("reprinted receipt:\n%s\nwant:\n%s", r.Text, want.Receipts()[0].Text)
		}
	})
}
