package harness

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// echoUpstream serves an echo on the far end of each pipe.
func echoUpstream(wg *sync.WaitGroup) func(context.Context) (net.Conn, error) {
	return func(context.Context) (net.Conn, error) {
		a, b := net.Pipe()
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(b, b)
			b.Close()
		}()
		return a, nil
	}
}

func roundTrip(t *testing.T, c net.Conn, msg string) (string, error) {
	t.Helper()
	go c.Write([]byte(msg))
	buf := make([]byte, len(msg))
	_, err := io.ReadFull(c, buf)
	return string(buf), err
}

func TestLinkToxicsInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		l := NewLink(LinkConfig{Upstream: echoUpstream(&wg), Seed: 1})
		defer func() { l.Close(); wg.Wait() }()

		c, err := l.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if got, err := roundTrip(t, c, "ping"); err != nil || got != "ping" {
			t.Fatalf("clean link: %q, %v", got, err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("clean link took %v of virtual time", d)
		}

		l.Add(Toxic{Name: "latency", Delay: 200 * time.Millisecond, Stream: "downstream"})
		start = time.Now()
		roundTrip(t, c, "ping")
		if d := time.Since(start); d != 200*time.Millisecond {
			t.Errorf("latency 200ms downstream: round trip took %v", d)
		}
		l.Remove("latency")

		l.Add(Toxic{Name: "slicer", Size: 2, Delay: time.Millisecond})
		if got, err := roundTrip(t, c, "a longer message, sliced"); err != nil || got != "a longer message, sliced" {
			t.Errorf("slicer: %q, %v", got, err)
		}
		l.Remove("slicer")

		l.Add(Toxic{Name: "timeout", Delay: 30 * time.Second, Stream: "upstream"})
		start = time.Now()
		_, err = roundTrip(t, c, "lost")
		if err == nil {
			t.Error("timeout toxic: data got through")
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("timeout 30s closed after %v", d)
		}
		l.Remove("timeout")

		l.Add(Toxic{Name: "down"})
		if _, err := l.Dial(context.Background()); !errors.Is(err, ErrLinkDown) {
			t.Errorf("dial while down: %v; want ErrLinkDown", err)
		}
		l.Remove("down")

		c2, err := l.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		l.Add(Toxic{Name: "limit_data", Size: 3, Stream: "downstream"})
		go c2.Write([]byte("abcdef"))
		buf := make([]byte, 6)
		n, err := io.ReadFull(c2, buf)
		if err == nil || n != 3 || string(buf[:3]) != "abc" {
			t.Errorf("limit_data 3: read %d %q, %v; want 3 bytes then the connection closed", n, buf[:n], err)
		}
	})
}

func TestToxicValidation(t *testing.T) {
	l := NewLink(LinkConfig{Upstream: func(context.Context) (net.Conn, error) { return nil, errors.New("x") }})
	if err := l.Add(Toxic{Name: "lag"}); err == nil {
		t.Error("unknown toxic accepted")
	}
	if err := l.Add(Toxic{Name: "bandwidth"}); err == nil {
		t.Error("bandwidth without a rate accepted")
	}
}
