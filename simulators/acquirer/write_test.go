package acquirer

import (
	"bufio"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// countingConn counts the host's writes; the first one stalls, as a
// congested socket does, so the answers ready meanwhile pile up behind it.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	first := c.writes == 1
	c.mu.Unlock()
	if first {
		time.Sleep(50 * time.Millisecond)
	}
	return c.Conn.Write(b)
}

// TestAnswersReadyTogetherShareAWrite sends a burst of sales on one
// connection without reading: every answer must arrive once, whole and for
// its own STAN, and the answers that were ready while a write was in
// progress must go out together rather than a system call each.
func TestAnswersReadyTogetherShareAWrite(t *testing.T) {
	h := startHost(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: server}
	if err := h.ServeConn(cc); err != nil {
		t.Fatal(err)
	}

	const n = maxInFlight
	tm := &terminal{t: t, stan: &stanSeq}
	var burst []byte
	want := map[string]bool{}
	for range n {
		f := tm.sale(visa, 100)
		want[f.STAN] = true
		burst = append(burst, iso.Frame(pack(t, f))...)
	}
	if _, err := client.Write(burst); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(client)
	for i := range n {
		size, err := iso.ReadLength(br)
		if err != nil {
			t.Fatalf("answer %d of %d: %v", i+1, n, err)
		}
		raw := make([]byte, size)
		if _, err := io.ReadFull(br, raw); err != nil {
			t.Fatalf("answer %d of %d: %v", i+1, n, err)
		}
		m := iso8583.NewMessage(iso.Spec87)
		if err := m.Unpack(raw); err != nil {
			t.Fatalf("answer %d of %d does not unpack: %v", i+1, n, err)
		}
		stan, _ := m.GetString(11)
		if !want[stan] {
			t.Fatalf("answer %d of %d: STAN %q not sent or answered twice", i+1, n, stan)
		}
		delete(want, stan)
	}
	cc.mu.Lock()
	writes := cc.writes
	cc.mu.Unlock()
	if writes >= n {
		t.Errorf("%d answers took %d writes: answers ready together were written one by one", n, writes)
	}
	t.Logf("%d answers in %d writes", n, writes)
}

// TestHandlersAreKept: a terminal's requests, one after the other, are
// answered by the handler that answered the one before, not by a goroutine
// started per message; after a burst of pipelined requests at most
// maxIdleHandlers handlers stay waiting, and none outlives the connection.
func TestHandlersAreKept(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	before := h.handlers.Load()
	for range 100 {
		tm.approved(tm.sale(visa, 100))
	}
	if n := h.handlers.Load() - before; n > 3 {
		t.Errorf("100 sales one after the other started %d handlers; want at most 3", n)
	}

	// A burst without reading: up to maxInFlight handlers at once.
	client, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(client)
	readAnswers := func(n int) {
		t.Helper()
		for i := range n {
			size, err := iso.ReadLength(br)
			if err == nil {
				_, err = io.ReadFull(br, make([]byte, size))
			}
			if err != nil {
				t.Fatalf("answer %d of %d: %v", i+1, n, err)
			}
		}
	}
	// One sale first, so the connection's reader and a handler of it are
	// running when the goroutines are counted.
	if _, err := client.Write(iso.Frame(pack(t, tm.sale(visa, 100)))); err != nil {
		t.Fatal(err)
	}
	readAnswers(1)
	var burst []byte
	for range maxInFlight {
		burst = append(burst, iso.Frame(pack(t, tm.sale(visa, 100)))...)
	}
	base := runtime.NumGoroutine()
	if _, err := client.Write(burst); err != nil {
		t.Fatal(err)
	}
	readAnswers(maxInFlight)
	// The burst's handlers finish after writing; all but the idle ones exit.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+maxIdleHandlers && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+maxIdleHandlers {
		t.Errorf("after the burst %d goroutines, %d before it; want at most %d more (idle handlers)", n, base, maxIdleHandlers)
	}
	client.Close()
	h.Close()
	// Close waits for every handler (h.wg), idle ones included.
	if n := runtime.NumGoroutine(); n >= base {
		t.Errorf("after Close %d goroutines, %d with the connection open; the connections' handlers are still there", n, base)
	}
}
