package resilience

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// logBuf collects the host's log lines for the tests to look for.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.b.String(), s)
}

// startAbuseHost runs a host on loopback with cfg's limits; serve, when
// set, replaces Start (a test with a listener of its own).
func startAbuseHost(t *testing.T, set func(*acquirer.Config), ln net.Listener) (*acquirer.Host, *logBuf) {
	t.Helper()
	ctx := context.Background()
	led, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "abuse.db"), ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	logs := &logBuf{}
	cfg := acquirer.Config{Profile: profile.Default(), Ledger: led,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if set != nil {
		set(&cfg)
	}
	h, err := acquirer.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if ln == nil {
		if err := h.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	} else {
		go h.Serve(ln)
	}
	return h, logs
}

// wellBehaved sells n times on its own connection and reports the
// latencies; every sale must be approved.
func wellBehaved(t *testing.T, addr string, idx, n int) []time.Duration {
	t.Helper()
	terms, err := loadTerminals(profile.Default(), idx+1)
	if err != nil {
		t.Fatal(err)
	}
	tm := terms[idx]
	if err := tm.Dial(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		resp, err := tm.Send(tm.Sale(int64(100+i), time.Now()))
		if err != nil {
			t.Fatalf("well-behaved terminal, sale %d: %v", i, err)
		}
		lat = append(lat, time.Since(start))
		if rc := RC(resp); rc != iso.RCApproved {
			t.Fatalf("well-behaved terminal, sale %d answered %s", i, rc)
		}
	}
	return lat
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// waitFor polls cond until it holds or d passes: the host's connection
// count changes on its own goroutines.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// raiseFileLimit lifts the soft open-file limit to want (or the hard limit).
func raiseFileLimit(t *testing.T, want uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skipf("reading the open-file limit: %v", err)
	}
	if rl.Cur >= want {
		return
	}
	old := rl.Cur
	rl.Cur = min(want, rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < want {
		t.Skipf("open-file limit %d, want %d (hard limit %d): %v", old, want, rl.Max, err)
	}
	t.Cleanup(func() {
		rl.Cur = old
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	})
}

// closedByPeer reports whether c was closed by the other end within d.
func closedByPeer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(err != nil && errors.As(err, &ne) && ne.Timeout())
}

// TestIdleConnections opens 1,000 idle connections: the host keeps serving
// a terminal beside them and closes every idle one after IdleTimeout.
func TestIdleConnections(t *testing.T) {
	const idle = 1000
	raiseFileLimit(t, 2*idle+256)
	h, logs := startAbuseHost(t, func(c *acquirer.Config) {
		c.MaxConns = idle + 10
		c.IdleTimeout = 2 * time.Second
	}, nil)
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < idle; i++ {
		c, err := net.Dial("tcp", h.Addr())
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	lat := wellBehaved(t, h.Addr(), 0, 300)
	t.Logf("well-behaved terminal beside %d idle connections: 300 sales, p99 %v", idle, p99(lat))
	if s := h.Stats(); s.Accepted != idle+1 {
		t.Errorf("host accepted %d connections; want %d", s.Accepted, idle+1)
	}

	// Idle past IdleTimeout: the host hangs up on every one of them.
	for i, c := range conns {
		if !closedByPeer(c, 10*time.Second) {
			t.Fatalf("idle connection %d still open 10 s after the idle timeout", i)
		}
	}
	waitFor(t, 5*time.Second, "no connections open", func() bool { return h.Stats().Conns == 0 })
	if !logs.has("closing idle or stalled connection") {
		t.Error("no log line for closing idle connections")
	}
}

// TestConnectionLimit fills MaxConns with idle connections: the next one is
// refused with a log line, and the terminals already connected are served.
func TestConnectionLimit(t *testing.T) {
	const limit = 50
	h, logs := startAbuseHost(t, func(c *acquirer.Config) { c.MaxConns = limit }, nil)
	terms, _ := loadTerminals(profile.Default(), 1)
	tm := terms[0]
	if err := tm.Dial(context.Background(), h.Addr()); err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	for i := 1; i < limit; i++ {
		c, err := net.Dial("tcp", h.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitFor(t, 5*time.Second, "the limit reached", func() bool { return h.Stats().Conns == limit })
	// The refusal is a reset, which may reach the dialer before its
	// connect returns: a failed dial is a refusal too.
	if extra, err := net.Dial("tcp", h.Addr()); err == nil {
		defer extra.Close()
		if !closedByPeer(extra, 3*time.Second) {
			t.Error("connection beyond MaxConns was not refused")
		}
	}
	waitFor(t, 5*time.Second, "the refusal logged", func() bool { return logs.has("MaxConns") })
	if !logs.has("connection refused") {
		t.Error("no log line for the refused connection")
	}
	if resp, err := tm.Send(tm.Sale(100, time.Now())); err != nil || RC(resp) != iso.RCApproved {
		t.Errorf("terminal within the limit: %v", err)
	}
	if s := h.Stats(); s.Accepted != limit || s.Conns != limit {
		t.Errorf("served %d, open %d; want %d of each (the refused one is not served)", s.Accepted, s.Conns, limit)
	}
}

// TestSlowClient trickles a sale one byte at a time: the host closes the
// connection once ReadTimeout passes without the whole frame, and serves
// others meanwhile.
func TestSlowClient(t *testing.T) {
	h, logs := startAbuseHost(t, func(c *acquirer.Config) { c.ReadTimeout = 700 * time.Millisecond }, nil)
	terms, _ := loadTerminals(profile.Default(), 1)
	packed, _ := terms[0].Sale(100, time.Now()).Pack()
	frame := iso.Frame(packed)
	c, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	slowDone := make(chan int, 1)
	go func() {
		sent := 0
		for _, b := range frame {
			if _, err := c.Write([]byte{b}); err != nil {
				break
			}
			sent++
			time.Sleep(100 * time.Millisecond) // ten bytes a second: a frame takes 15 s
		}
		slowDone <- sent
	}()
	lat := wellBehaved(t, h.Addr(), 1, 200)
	t.Logf("well-behaved terminal beside a slow client: 200 sales, p99 %v", p99(lat))
	if !closedByPeer(c, 5*time.Second) {
		t.Fatal("slow client still connected 5 s after its read timeout")
	}
	if sent := <-slowDone; sent >= len(frame) {
		t.Errorf("slow client got its whole %d-byte frame in", sent)
	}
	if !logs.has("closing idle or stalled connection") {
		t.Error("no log line for the stalled connection")
	}
}

// smallBufListener shrinks the send buffer of accepted connections so a
// client that never reads fills it after a few dozen answers, not megabytes.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestClientThatNeverReads floods echo requests and reads nothing: the host
// stops reading from it once its handlers are all blocked, keeps its
// goroutines and memory bounded, and closes it after WriteTimeout.
func TestClientThatNeverReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, logs := startAbuseHost(t, func(c *acquirer.Config) { c.WriteTimeout = 700 * time.Millisecond }, smallBufListener{ln})
	addr := ln.Addr().String()
	base := runtime.NumGoroutine()

	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	terms, _ := loadTerminals(profile.Default(), 3)
	deaf := terms[2]
	var peak int
	sent, start := 0, time.Now()
	for time.Since(start) < 10*time.Second {
		packed, _ := deaf.Echo(time.Now()).Pack()
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Write(iso.Frame(packed)); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				peak = max(peak, runtime.NumGoroutine())
				continue // the host stopped reading: back-pressure
			}
			break // the host closed the connection
		}
		sent++
		peak = max(peak, runtime.NumGoroutine())
	}
	if time.Since(start) >= 10*time.Second {
		t.Fatalf("host still takes requests from a client that has read nothing for 10 s (%d sent)", sent)
	}
	t.Logf("deaf client sent %d requests before the host hung up; goroutines %d before, %d at the peak", sent, base, peak)
	if peak > base+64 {
		t.Errorf("goroutines grew from %d to %d for one deaf client", base, peak)
	}
	if !logs.has("peer does not read its responses") {
		t.Error("no log line for the deaf client")
	}
	lat := wellBehaved(t, addr, 1, 100)
	t.Logf("well-behaved terminal after the deaf client: p99 %v", p99(lat))
	waitFor(t, 5*time.Second, "the deaf connection gone", func() bool { return h.Stats().Conns == 0 })
}

// TestMalformedFlood sends thousands of malformed frames (answered 30),
// garbage frames and oversize headers (connection closed) while a terminal
// sells: it is served, and nothing stays behind.
func TestMalformedFlood(t *testing.T) {
	h, _ := startAbuseHost(t, nil, nil)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "simulators", "acquirer", "testdata", "frames", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bad, garbage, oversize := read("badbitmap.bin"), read("garbage.bin"), read("oversize.bin")
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0, base := ms.HeapAlloc, runtime.NumGoroutine()

	const floods, perConn = 20, 200
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < floods; i++ {
			c, err := net.Dial("tcp", h.Addr())
			if err != nil {
				errc <- err
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for j := 0; j < perConn; j++ {
				if _, err := c.Write(bad); err != nil {
					c.Close()
					errc <- err
					return
				}
				if m, err := ReadMessage(c); err != nil || RC(m) != iso.RCFormatError {
					c.Close()
					errc <- err
					return
				}
			}
			end := garbage
			if i%2 == 1 {
				end = oversize
			}
			c.Write(end)
			if !closedByPeer(c, 5*time.Second) {
				c.Close()
				errc <- io.ErrNoProgress
				return
			}
			c.Close()
		}
		errc <- nil
	}()
	lat := wellBehaved(t, h.Addr(), 0, 300)
	if err := <-errc; err != nil {
		t.Fatalf("flood: %v", err)
	}
	t.Logf("well-behaved terminal beside %d malformed frames: 300 sales, p99 %v", floods*perConn, p99(lat))
	s := h.Stats()
	if s.Malformed != floods*perConn || s.Closed != floods {
		t.Errorf("stats: %d malformed, %d closed; want %d and %d", s.Malformed, s.Closed, floods*perConn, floods)
	}
	waitFor(t, 5*time.Second, "goroutines back to where they were", func() bool { return runtime.NumGoroutine() <= base+2 })
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("heap %d KiB before the flood, %d KiB after", heap0>>10, ms.HeapAlloc>>10)
	if ms.HeapAlloc > heap0+32<<20 {
		t.Errorf("heap grew from %d to %d bytes over the flood", heap0, ms.HeapAlloc)
	}
}

// TestHalfHeaders opens 200 connections that each send one byte of a
// length header and stop: with no idle timeout set, the read timeout (which
// runs from a frame's first byte) closes every one, and a terminal is
// served beside them.
func TestHalfHeaders(t *testing.T) {
	const clients = 200
	raiseFileLimit(t, 2*clients+256)
	h, logs := startAbuseHost(t, func(c *acquirer.Config) { c.ReadTimeout = time.Second }, nil)
	conns := make([]net.Conn, 0, clients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < clients; i++ {
		c, err := net.Dial("tcp", h.Addr())
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if _, err := c.Write([]byte{0}); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	lat := wellBehaved(t, h.Addr(), 0, 100)
	t.Logf("well-behaved terminal beside %d half headers: 100 sales, p99 %v", clients, p99(lat))
	for i, c := range conns {
		if !closedByPeer(c, 10*time.Second) {
			t.Fatalf("half-header client %d still open 10 s after its read timeout", i)
		}
	}
	waitFor(t, 5*time.Second, "no connections open", func() bool { return h.Stats().Conns == 0 })
	if !logs.has("closing idle or stalled connection") {
		t.Error("no log line for the stalled connections")
	}
}
