package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

const (
	testTID = "TERM0001"
	testMID = "123456789012345"
	visa    = "4761739001010010"
)

// startServer runs a proxy server's API on loopback.
func startServer(t *testing.T, trace io.Writer) *Server {
	t.Helper()
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Trace: trace})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// startEcho runs a TCP echo server on loopback.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// roundTrip sends msg over c and reads as many bytes back.
func roundTrip(t *testing.T, c net.Conn, msg []byte) ([]byte, time.Duration) {
	t.Helper()
	start := time.Now()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	return got, time.Since(start)
}

func TestToxiproxyClientLatency(t *testing.T) {
	s := startServer(t, nil)
	echo := startEcho(t)
	cl := toxiclient.NewClient(s.Addr())
	p, err := cl.CreateProxy("echo", "127.0.0.1:0", echo)
	if err != nil {
		t.Fatal(err)
	}
	const latency = 150
	if _, err := p.AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": latency}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("hello through the proxy")
	got, took := roundTrip(t, c, msg)
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, want %q", got, msg)
	}
	if took < latency*time.Millisecond {
		t.Errorf("round trip %v, below the toxic's %dms", took, latency)
	}

	// The proxy and its toxic show in the API as Toxiproxy shows them.
	all, err := cl.Proxies()
	if err != nil || all["echo"] == nil || !all["echo"].Enabled {
		t.Fatalf("proxies %v, %v", all, err)
	}
	tx, err := p.Toxics()
	if err != nil || len(tx) != 1 || tx[0].Type != "latency" {
		t.Fatalf("toxics %+v, %v", tx, err)
	}

	// Disabled, it refuses connections; enabled again, it carries them.
	if err := p.Disable(); err != nil {
		t.Fatal(err)
	}
	if c2, err := net.DialTimeout("tcp", p.Listen, time.Second); err == nil {
		c2.Close()
		t.Errorf("a disabled proxy accepted a connection")
	}
	if err := p.Enable(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ResetState(); err != nil {
		t.Fatal(err)
	}
	if tx, _ := p.Toxics(); len(tx) != 0 {
		t.Errorf("after reset: toxics %+v", tx)
	}
}

func TestUnknownToxicIsToxiproxysError(t *testing.T) {
	s := startServer(t, nil)
	cl := toxiclient.NewClient(s.Addr())
	p, err := cl.CreateProxy("x", "127.0.0.1:0", startEcho(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.AddToxic("", "iso_nonsense", "downstream", 1, nil)
	if err == nil || !strings.Contains(err.Error(), "invalid toxic type") {
		t.Fatalf("unknown toxic: %v", err)
	}
}

// TestNonISOPassesThrough: bytes that are not possim87 cross every ISO
// toxic untouched.
func TestNonISOPassesThrough(t *testing.T) {
	s := startServer(t, &bytes.Buffer{})
	listen, err := s.AddProxy("possim", "127.0.0.1:0", startEcho(t))
	if err != nil {
		t.Fatal(err)
	}
	cl := toxiclient.NewClient(s.Addr())
	p, err := cl.Proxy("possim")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{TypeDrop, TypeAmount, TypeGarble, TypeDuplicate} {
		for _, stream := range []string{"upstream", "downstream"} {
			if _, err := p.AddToxic("", typ, stream, 1, toxiclient.Attributes{"amount": 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, msg := range [][]byte{[]byte("GET / HTTP/1.0\r\n\r\n"), {0xFF, 0xFE, 1, 2, 3}} {
		if got, _ := roundTrip(t, c, msg); !bytes.Equal(got, msg) {
			t.Errorf("got %q, want %q", got, msg)
		}
	}
}

// isoLab is a real host behind a proxy, and a raw ISO client in front.
type isoLab struct {
	proxy *toxiclient.Proxy
	conn  *connection.Connection
	trace *syncBuffer
}

func newISOLab(t *testing.T, timeout time.Duration) *isoLab {
	t.Helper()
	ctx := context.Background()
	led, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "host.db"), ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := acquirer.New(ctx, acquirer.Config{Profile: profile.Default(), Ledger: led, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); led.Close() })
	tr := &syncBuffer{}
	s := startServer(t, tr)
	listen, err := s.AddProxy("possim", "127.0.0.1:0", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p, err := toxiclient.NewClient(s.Addr()).Proxy("possim")
	if err != nil {
		t.Fatal(err)
	}
	c, err := connection.New(listen, iso.Spec87, iso.ReadLength, iso.WriteLength,
		connection.SetRequestIDGenerator(tidSTAN{}), connection.SendTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &isoLab{proxy: p, conn: c, trace: tr}
}

var stanSeq atomic.Int64

func (l *isoLab) sale(t *testing.T, amount int64) (*iso8583.Message, error) {
	t.Helper()
	m, err := iso.NewMessage(&iso.Financial{MTI: "0200", PAN: visa, ProcessingCode: "000000",
		Amount: fmt.Sprintf("%012d", amount), TransmissionDT: "1125103000", STAN: fmt.Sprintf("%06d", stanSeq.Add(1)),
		LocalTime: "103000", LocalDate: "1125", Expiry: "3012", EntryMode: "051", ConditionCode: "00",
		TerminalID: testTID, MerchantID: testMID, Currency: "156", Reserved60: "0000012.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return l.conn.Send(m)
}

type tidSTAN struct{}

func (tidSTAN) GenerateRequestID(m *iso8583.Message) (string, error) {
	tid, _ := m.GetString(41)
	stan, _ := m.GetString(11)
	return tid + "/" + stan, nil
}

func TestISOAmountDropAndTrace(t *testing.T) {
	l := newISOLab(t, 2*time.Second)
	if _, err := l.proxy.AddToxic("amount", TypeAmount, "downstream", 1, toxiclient.Attributes{"mti": "0210", "amount": 1}); err != nil {
		t.Fatal(err)
	}
	resp, err := l.sale(t, 900)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := resp.GetString(4); got != "000000000001" {
		t.Errorf("answer's amount %q, want the toxic's 000000000001", got)
	}
	if err := l.proxy.RemoveToxic("amount"); err != nil {
		t.Fatal(err)
	}
	// The second answer is dropped, the first and third arrive.
	if _, err := l.proxy.AddToxic("drop", TypeDrop, "downstream", 1, toxiclient.Attributes{"mti": "0210", "nth": 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.sale(t, 100); err != nil {
		t.Fatalf("first sale: %v", err)
	}
	if _, err := l.sale(t, 200); !errors.Is(err, connection.ErrSendTimeout) {
		t.Fatalf("second sale: %v, want a timeout", err)
	}
	if _, err := l.sale(t, 300); err != nil {
		t.Fatalf("third sale: %v", err)
	}

	// The trace holds each request and answer as it entered the proxy,
	// the PAN masked.
	tr := l.trace.String()
	if strings.Contains(tr, visa) || !strings.Contains(tr, `"2":"476173******0010"`) {
		t.Errorf("PAN not masked in trace:\n%s", tr)
	}
	if n := strings.Count(tr, `"dir":"in","mti":"0200"`); n != 4 {
		t.Errorf("%d requests on the trace, want 4:\n%s", n, tr)
	}
	if n := strings.Count(tr, `"dir":"out","mti":"0210"`); n != 4 {
		t.Errorf("%d answers on the trace, want 4:\n%s", n, tr)
	}
}

func TestISODelayGarbleDuplicate(t *testing.T) {
	l := newISOLab(t, 3*time.Second)
	const delay = 300
	if _, err := l.proxy.AddToxic("slow-200", TypeDelay, "downstream", 1,
		toxiclient.Attributes{"match_field": 4, "match_value": "000000000200", "delay": delay}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := l.sale(t, 100); err != nil {
		t.Fatal(err)
	}
	fast := time.Since(start)
	start = time.Now()
	if _, err := l.sale(t, 200); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < delay*time.Millisecond {
		t.Errorf("matching answer took %v, below the delay %dms (other took %v)", took, delay, fast)
	}
	_ = l.proxy.RemoveToxic("slow-200")

	if _, err := l.proxy.AddToxic("g", TypeGarble, "downstream", 1, toxiclient.Attributes{"field": 39}); err != nil {
		t.Fatal(err)
	}
	resp, err := l.sale(t, 100)
	if err != nil {
		t.Fatal(err)
	}
	if rc, _ := resp.GetString(39); rc != "ZZ" {
		t.Errorf("garbled 39 = %q, want ZZ", rc)
	}
	_ = l.proxy.RemoveToxic("g")
}

// TestHoldReversal: a held reversal reaches the host after a later sale.
func TestHoldReversal(t *testing.T) {
	echo := startEcho(t)
	s := startServer(t, nil)
	listen, err := s.AddProxy("possim", "127.0.0.1:0", echo)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := toxiclient.NewClient(s.Addr()).Proxy("possim")
	if _, err := p.AddToxic("hold", TypeHoldReversal, "upstream", 1, toxiclient.Attributes{"hold": 300}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	frame := func(mti, stan string) []byte {
		m, err := iso.NewMessage(&iso.Financial{MTI: mti, PAN: visa, Amount: "000000000100", STAN: stan, TerminalID: testTID})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return iso.Frame(b)
	}
	rev, sale := frame("0400", "000001"), frame("0200", "000002")
	if _, err := c.Write(append(append([]byte(nil), rev...), sale...)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(rev)+len(sale))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:len(sale)], sale) || !bytes.Equal(got[len(sale):], rev) {
		t.Errorf("order: got %q, want the sale then the reversal", got)
	}
}

// syncBuffer is a bytes.Buffer safe for the proxy's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAttributesAreNumbers: toxiproxy-cli's inspect and list assume every
// toxic attribute is a number (a string one panics it), so the ISO toxics
// and the trace toxic show theirs as numbers.
func TestAttributesAreNumbers(t *testing.T) {
	s := startServer(t, &syncBuffer{})
	if _, err := s.AddProxy("possim", "127.0.0.1:0", startEcho(t)); err != nil {
		t.Fatal(err)
	}
	p, err := toxiclient.NewClient(s.Addr()).Proxy("possim")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddToxic("", TypeDelay, "downstream", 1,
		toxiclient.Attributes{"mti": "0210", "match_field": 4, "match_value": "000000000900", "delay": 10}); err != nil {
		t.Fatal(err)
	}
	tx, err := p.Toxics()
	if err != nil {
		t.Fatal(err)
	}
	if len(tx) != 3 {
		t.Fatalf("toxics %+v, want the delay and two trace toxics", tx)
	}
	for _, x := range tx {
		for k, v := range x.Attributes {
			if _, ok := v.(float64); !ok {
				t.Errorf("%s: attribute %s = %#v, not a number", x.Name, k, v)
			}
		}
	}
}
