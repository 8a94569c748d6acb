package acquirer

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// TestVirtualTime runs the host over net.Pipe inside a synctest bubble: a
// 30-second delay fault and a 60-second idle timeout cost no wall time, and
// the bubble only ends cleanly if Close left no goroutine behind.
func TestVirtualTime(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l, err := ledger.Open(ctx, filepath.Join(dir, "v.db"), ledger.Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		h, err := New(ctx, Config{Profile: profile.Default(), Ledger: l, Logger: testLogger(t), IdleTimeout: time.Minute,
			Faults: []Fault{{Match: Match{MTI: "0200", Nth: 2}, Action: ActDelay, Delay: 30 * time.Second}}})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()

		hostEnd, termEnd := net.Pipe()
		if err := h.ServeConn(hostEnd); err != nil {
			t.Fatal(err)
		}
		c, err := connection.NewFrom(termEnd, iso.Spec87, iso.ReadLength, iso.WriteLength,
			connection.SetRequestIDGenerator(tidSTAN{}), connection.SendTimeout(45*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		tm := &terminal{t: t, c: c, stan: &stanSeq}
		if code := rc(tm.mustSend(tm.sale(visa, 10000))); code != "00" {
			t.Fatalf("sale answered %s", code)
		}
		start := time.Now()
		if code := rc(tm.mustSend(tm.sale(visa, 100))); code != "00" {
			t.Fatalf("delayed sale answered %s", code)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("delayed answer took %v of virtual time; want 30s", d)
		}
		if b, _ := l.Balance(ctx, testMID); b != 9940+99 {
			t.Errorf("balance %d", b)
		}
		// Idle for longer than IdleTimeout: the host hangs up.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if _, err := tm.send(tm.sale(visa, 100)); err == nil {
			t.Error("idle connection still served")
		}
		c.Close()
		if s := h.Stats(); s.Conns != 0 {
			t.Errorf("%d connections open after idle close", s.Conns)
		}
	})
}

// TestCloseWithRequestInFlight closes the host while an answer is held back
// by an hour-long delay: Close must not wait for the hour, and the bubble
// must end with no goroutine left.
func TestCloseWithRequestInFlight(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l, err := ledger.Open(ctx, filepath.Join(dir, "c.db"), ledger.Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		h, err := New(ctx, Config{Profile: profile.Default(), Ledger: l, Logger: testLogger(t),
			Faults: []Fault{{Action: ActDelay, Delay: time.Hour}}})
		if err != nil {
			t.Fatal(err)
		}
		hostEnd, termEnd := net.Pipe()
		h.ServeConn(hostEnd)
		c, _ := connection.NewFrom(termEnd, iso.Spec87, iso.ReadLength, iso.WriteLength,
			connection.SetRequestIDGenerator(tidSTAN{}), connection.SendTimeout(2*time.Hour))
		defer c.Close()
		tm := &terminal{t: t, c: c, stan: &stanSeq}
		errc := make(chan error, 1)
		go func() {
			_, err := tm.send(tm.sale(visa, 100))
			errc <- err
		}()
		time.Sleep(time.Minute)
		synctest.Wait()
		start := time.Now()
		h.Close()
		if d := time.Since(start); d > time.Second {
			t.Errorf("Close took %v of virtual time", d)
		}
		if err := <-errc; err == nil {
			t.Error("the held-back sale was answered after Close")
		}
		if err := h.ServeConn(hostEnd); err != ErrClosed {
			t.Errorf("ServeConn after Close: %v", err)
		}
	})
}

// pipeListener is an in-memory net.Listener: Dial hands one end of a
// net.Pipe to Accept.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) Dial() (net.Conn, error) {
	a, b := net.Pipe()
	select {
	case l.conns <- a:
		return b, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// TestServeInMemoryListener serves an in-memory listener in virtual time,
// with RequireSignOn: a sale before sign-on is 58, after it 00.
func TestServeInMemoryListener(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l, err := ledger.Open(ctx, filepath.Join(dir, "m.db"), ledger.Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		h, err := New(ctx, Config{Profile: profile.Default(), Ledger: l, Logger: testLogger(t), RequireSignOn: true})
		if err != nil {
			t.Fatal(err)
		}
		ln := newPipeListener()
		served := make(chan error, 1)
		go func() { served <- h.Serve(ln) }()
		nc, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		c, _ := connection.NewFrom(nc, iso.Spec87, iso.ReadLength, iso.WriteLength,
			connection.SetRequestIDGenerator(tidSTAN{}))
		defer c.Close()
		tm := &terminal{t: t, c: c, stan: &stanSeq}
		if code := rc(tm.mustSend(tm.sale(visa, 100))); code != "58" {
			t.Errorf("sale before sign-on answered %s; want 58", code)
		}
		tm.signOn()
		if code := rc(tm.mustSend(tm.withPIN(tm.sale(visa, 100), "1234"))); code != "00" {
			t.Errorf("PIN sale after sign-on answered %s", code)
		}
		h.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after Close", err)
		}
	})
}
