package terminal

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
)

// wiredLab is a lab in wired mode: the host on loopback TCP and every
// device on a real pty, opened by the terminal side as a POS application
// opens a serial device.
func wiredLab(t *testing.T, timeout time.Duration) *lab {
	t.Helper()
	p := profile.Default()
	host := newMiniHost(t, p)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })

	dir := t.TempDir()
	links := map[string][2]io.ReadWriteCloser{}
	for _, name := range []string{"printer", "cardreader", "pinpad", "scanner"} {
		pt, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(dir, name)})
		if err != nil {
			t.Fatal(err)
		}
		pos, err := serial.OpenRaw(pt.Path())
		if err != nil {
			t.Fatal(err)
		}
		links[name] = [2]io.ReadWriteCloser{pt, pos}
	}
	l := &lab{t: t, p: p, host: host}
	cfg := Config{
		Profile:         p,
		ResponseTimeout: timeout,
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", ln.Addr().String())
		},
		OnEvent: func(e Event) { l.mu.Lock(); l.events = append(l.events, e); l.mu.Unlock() },
	}
	l.attachDevices(&cfg, links)
	l.term, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	return l
}

func TestWiredSaleTimeoutAndSettlement(t *testing.T) {
	if testing.Short() {
		t.Skip("wired: real ptys and TCP")
	}
	l := wiredLab(t, 500*time.Millisecond)
	l.ready()
	x := l.sale(2599)
	if rs := l.receipts(); len(rs) != 2 || !strings.Contains(rs[0], x.STAN) {
		t.Fatalf("receipts over the pty: %q", rs)
	}

	l.host.setRule(func(mti string, req, resp *iso8583.Message) bool { return mti != "0200" })
	l.reader.Tap("visa-credit")
	if _, err := l.term.Sale(bg, SaleRequest{Amount: 100}); !errors.Is(err, ErrNoResponse) {
		t.Fatalf("timeout: %v", err)
	}
	if got := strings.Join(l.host.mtis(), " "); !strings.HasSuffix(got, "0200 0400") || len(l.term.PendingReversals()) != 0 {
		t.Fatalf("host saw %s", got)
	}
	l.host.setRule(nil)

	res, err := l.term.Settle(bg)
	if err != nil || !res.Balanced || res.Totals.SalesAmount != 2599 {
		t.Fatalf("settle: %v %+v", err, res)
	}
}

// TestPrinterThroughSocat drives the printer through a pty pair made by
// socat, as a terminal vendor would put a sniffer or a real printer cable
// between the two.
func TestPrinterThroughSocat(t *testing.T) {
	if testing.Short() {
		t.Skip("wired: socat")
	}
	if _, err := exec.LookPath("socat"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("socat is required in CI")
		}
		t.Skip("socat not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	re := regexp.MustCompile(`PTY is (\S+)`)
	var ptys []string
	sc := bufio.NewScanner(stderr)
	for len(ptys) < 2 && sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			ptys = append(ptys, m[1])
		}
	}
	if len(ptys) != 2 {
		t.Fatalf("socat did not report two ptys")
	}
	go io.Copy(io.Discard, stderr)
	dev, err := serial.OpenRaw(ptys[0])
	if err != nil {
		t.Fatal(err)
	}
	pos, err := serial.OpenRaw(ptys[1])
	if err != nil {
		t.Fatal(err)
	}

	p := profile.Default()
	host := newMiniHost(t, p)
	l := &lab{t: t, p: p, host: host}
	cfg := Config{Profile: p, Dial: func(ctx context.Context) (net.Conn, error) { return host.dial() }}
	l.attachDevices(&cfg, map[string][2]io.ReadWriteCloser{"printer": {dev, pos}})
	if l.term, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	l.ready()
	l.printer.PaperOut()
	x := l.sale(1888)
	if l.term.QueuedReceipts() != 2 {
		t.Fatalf("%d receipts queued with no paper", l.term.QueuedReceipts())
	}
	l.printer.LoadPaper()
	if err := l.term.FlushReceipts(bg); err != nil {
		t.Fatal(err)
	}
	if rs := l.receipts(); len(rs) != 2 || !strings.Contains(rs[1], x.STAN) || !strings.Contains(rs[1], "CNY 18.88") {
		t.Fatalf("receipts through socat: %q", rs)
	}
}
