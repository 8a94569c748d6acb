package printer

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

// ptyClient opens path as a POS does and returns a function that waits
// for n answer bytes.
func ptyClient(t *testing.T, path string) (serial.Port, func(n int) []byte) {
	t.Helper()
	port, err := serial.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = port.Close() })
	got := make(chan byte, 64)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := port.Read(buf)
			for _, b := range buf[:n] {
				got <- b
			}
			if err != nil {
				close(got)
				return
			}
		}
	}()
	return port, func(n int) []byte {
		t.Helper()
		var out []byte
		timeout := time.After(10 * time.Second) // real time on a busy machine
		for len(out) < n {
			select {
			case b, ok := <-got:
				if !ok {
					t.Fatalf("port closed after % X", out)
				}
				out = append(out, b)
			case <-timeout:
				t.Fatalf("waited for %d answer bytes, got % X", n, out)
			}
		}
		return out
	}
}

func write(t *testing.T, port serial.Port, b []byte) {
	t.Helper()
	if _, err := port.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestPTYHugeRasterHeader sends the 8 bytes that made the printer deaf: a
// GS v 0 header claiming about 4 GiB. The printer refuses it at the header,
// answers status at once and prints what follows.
func TestPTYHugeRasterHeader(t *testing.T) {
	dev, path := startPTYPrinter(t, Config{})
	port, answers := ptyClient(t, path)
	write(t, port, []byte{gs, 'v', '0', 0, 0xFF, 0xFF, 0xFF, 0xFF})
	write(t, port, []byte{dle, eot, 1})
	if got := answers(1); got[0] != statusFixed {
		t.Fatalf("DLE EOT 1 answered % X, want 12", got)
	}
	write(t, port, []byte("\x1b@after\n\x1dV\x00\x10\x04\x01"))
	answers(1) // the status after the cut: the receipt is done
	r, ok := dev.LastReceipt()
	if !ok || r.Text != "after\n" {
		t.Errorf("receipt after the bad header = %q, %v; want \"after\\n\"", r.Text, ok)
	}
}

// TestPTYStatusMidCommand asks for status in the middle of a valid command
// that waits for its data (a raster image of 72x100 bytes): a real printer
// answers real-time commands on receipt.
func TestPTYStatusMidCommand(t *testing.T) {
	_, path := startPTYPrinter(t, Config{})
	port, answers := ptyClient(t, path)
	write(t, port, []byte{gs, 'v', '0', 0, 72, 0, 100, 0, 0xAA, 0x55})
	for n, want := range map[byte]byte{1: 0x12, 2: 0x12, 4: 0x12} {
		write(t, port, []byte{dle, eot, n})
		if got := answers(1); got[0] != want {
			t.Errorf("DLE EOT %d mid-image answered % X, want %02X", n, got, want)
		}
	}
}

// TestPTYReopenNewSession leaves a command waiting for its data, closes the
// port and reopens it: the new client starts on a clean parser, so its
// receipt prints instead of being eaten as image data.
func TestPTYReopenNewSession(t *testing.T) {
	links := make(chan string, 16)
	p, _ := newTestPrinter(t, Config{OnEvent: func(e Event) {
		if e.Kind == EventLink {
			links <- e.Detail
		}
	}})
	pty, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(t.TempDir(), "printer")})
	if err != nil {
		t.Fatal(err)
	}
	p.Attach(pty)
	<-links // connected

	old, answers := ptyClient(t, pty.Path())
	write(t, old, []byte{gs, 'v', '0', 0, 72, 0, 100, 0}) // 7200 bytes announced
	write(t, old, []byte{dle, eot, 1})
	answers(1) // the printer has read the header
	_ = old.Close()
	select {
	case d := <-links:
		if !strings.Contains(d, "new session") {
			t.Fatalf("link event %q, want a new session", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no new session after the client closed the port")
	}

	port, answers := ptyClient(t, pty.Path())
	write(t, port, []byte("fresh\n\x1dV\x00\x10\x04\x01"))
	answers(1)
	if r, ok := p.LastReceipt(); !ok || r.Text != "fresh\n" {
		t.Errorf("receipt after reopening = %q, %v; want \"fresh\\n\"", r.Text, ok)
	}
	if rs := p.Receipts(); len(rs) != 1 || bytes.Contains([]byte(rs[0].Text), []byte{0}) {
		t.Errorf("receipts = %+v", rs)
	}
}

// TestGarbageCoalesced feeds 64 KiB of control bytes: the first is
// reported as it comes, the rest as one count, not one event each.
func TestGarbageCoalesced(t *testing.T) {
	const size = 64 << 10
	p, rec := newTestPrinter(t, Config{Logger: slog.New(slog.DiscardHandler)})
	feed(t, p, bytes.Repeat([]byte{0x01}, size))
	_ = p.Close() // ends the burst
	got := rec.kinds(EventUnknown)
	total := 0
	for _, d := range got {
		var n int
		if _, err := fmt.Sscanf(d, "%d more", &n); err != nil {
			n = 1
		}
		total += n
	}
	if len(got) > 3 || total != size {
		t.Errorf("%d unknown events counting %d commands, want a few counting %d", len(got), total, size)
	}
}

// TestStatusInOrder: two requests that arrive together with a receipt
// between them are answered in stream order: the second after the cut.
func TestStatusInOrder(t *testing.T) {
	p, rec := newTestPrinter(t, Config{})
	out := feed(t, p, []byte("\x10\x04\x01A\n\x1dV\x00\x10\x04\x02"))
	if !bytes.Equal(out, []byte{0x12, 0x12}) {
		t.Errorf("answers % X, want 12 12", out)
	}
	var order []string
	rec.mu.Lock()
	for _, e := range rec.events {
		if e.Kind == EventStatus || e.Kind == EventReceipt {
			order = append(order, e.Kind)
		}
	}
	rec.mu.Unlock()
	if want := []string{EventStatus, EventReceipt, EventStatus}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", order, want)
	}
}

// TestMemoryBounded: a POS that never cuts, or cuts forever, costs bounded
// memory: the printer cuts a full page itself and keeps the newest
// MaxReceipts receipts, numbering on.
func TestMemoryBounded(t *testing.T) {
	p, rec := newTestPrinter(t, Config{Logger: slog.New(slog.DiscardHandler)})
	feed(t, p, bytes.Repeat([]byte("line\n"), MaxPageItems+10))
	rs := p.Receipts()
	if len(rs) != 1 || strings.Count(rs[0].Text, "\n") != MaxPageItems {
		t.Fatalf("%d receipts after %d lines without a cut, want 1 of %d lines", len(rs), MaxPageItems+10, MaxPageItems)
	}
	if got := rec.kinds(EventReceipt); len(got) != 1 || !strings.Contains(got[0], "page limit") {
		t.Errorf("receipt events %q, want one cut by the page limit", got)
	}
	feed(t, p, bytes.Repeat([]byte("x\n\x1dV\x00"), MaxReceipts+50))
	rs = p.Receipts()
	if len(rs) != MaxReceipts || rs[len(rs)-1].Seq != MaxReceipts+51 || rs[0].Seq != 52 {
		t.Errorf("kept %d receipts, seq %d..%d; want %d, 52..%d", len(rs), rs[0].Seq, rs[len(rs)-1].Seq, MaxReceipts, MaxReceipts+51)
	}
	// Big receipts: the bytes kept stay within MaxReceiptBytes.
	page := append(bytes.Repeat([]byte(strings.Repeat("W", Columns)+"\n"), 1000), gs, 'V', 0)
	kept := func() (n int) {
		for _, r := range p.Receipts() {
			n += len(r.Text) + len(r.HTML)
		}
		return n
	}
	for range 200 {
		feed(t, p, page)
	}
	if n := kept(); n > MaxReceiptBytes || len(p.Receipts()) >= MaxReceipts {
		t.Errorf("%d receipts kept holding %d bytes, want at most %d bytes", len(p.Receipts()), n, MaxReceiptBytes)
	}
}
