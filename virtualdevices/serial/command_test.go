package serial

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var errNoTestDevice = errors.New("test device not answering")

// testDevice is a small command device: PING answers at once, HOLD is held
// until RELEASE (or CANCEL, which answers HOLD CANCEL first), so the tests
// see the server keep reading while an answer waits.
type testDevice struct {
	release chan string // HOLD's status word
	cancels chan struct{}
}

func newTestDevice() *testDevice {
	return &testDevice{release: make(chan string, 1), cancels: make(chan struct{}, 4)}
}

func (d *testDevice) handle(ctx context.Context, rs *Responder, data []byte) {
	cmd, _, _ := strings.Cut(string(data), " ")
	switch cmd {
	case "PING":
		rs.Reply(ctx, Message{Cmd: "PING", Status: "OK", Detail: strings.TrimPrefix(string(data), "PING ")})
	case "HOLD":
		rs.Go(ctx, func() (Message, bool) {
			select {
			case sw := <-d.release:
				return Message{Cmd: "HOLD", Status: sw}, true
			case <-ctx.Done():
				return Message{}, false
			}
		})
	case "RELEASE":
		d.release <- "OK"
		rs.Reply(ctx, Message{Cmd: "RELEASE", Status: "OK"})
	case "CANCEL":
		d.cancels <- struct{}{}
		select {
		case d.release <- "CANCEL":
		default:
		}
		rs.Reply(ctx, Message{Cmd: "CANCEL", Status: "OK"})
	default:
		rs.Reply(ctx, Message{Cmd: FirstWord(cmd), Status: "ERR", Detail: "unknown command"})
	}
}

// startCommandPair serves a testDevice on one end of a Pipe and returns a
// client on the other; both close when the test ends.
func startCommandPair(t *testing.T, cable *Cable) (*testDevice, *CommandServer, *CommandClient) {
	t.Helper()
	d := newTestDevice()
	srv := NewCommandServer(CommandServerConfig{Logger: testLogger(t), Cable: cable, Handle: d.handle})
	dev, pos := Pipe()
	srv.Attach(dev)
	c := NewCommandClient(pos, CommandClientConfig{Logger: testLogger(t), Timeout: time.Second, NoAnswer: errNoTestDevice})
	t.Cleanup(func() {
		c.Close()
		srv.Close()
	})
	return d, srv, c
}

func TestCommandExchange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, c := startCommandPair(t, nil)
		tests := []struct {
			line string
			want Message
		}{
			{"PING", Message{Cmd: "PING", Status: "OK", Detail: "PING"}},
			{"PING hello there", Message{Cmd: "PING", Status: "OK", Detail: "hello there"}},
			{"NOPE 1 2", Message{Cmd: "NOPE", Status: "ERR", Detail: "unknown command"}},
		}
		for _, tt := range tests {
			got, err := c.Exchange(t.Context(), Command{Line: tt.line})
			if err != nil || got.Cmd != tt.want.Cmd || got.Status != tt.want.Status || got.Detail != tt.want.Detail {
				t.Errorf("Exchange(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
		}
	})
}

// TestCommandServerKeepsReading: while HOLD waits, other commands are
// answered, and HOLD's answer comes when RELEASE arrives.
func TestCommandServerKeepsReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, srv, c := startCommandPair(t, nil)
		// A second client on its own link releases the first one's HOLD.
		dev2, pos2 := Pipe()
		srv.Attach(dev2)
		c2 := NewCommandClient(pos2, CommandClientConfig{Logger: testLogger(t)})
		defer c2.Close()

		held := make(chan Message, 1)
		go func() {
			m, err := c.Exchange(t.Context(), Command{Line: "HOLD", Wait: time.Minute})
			if err != nil {
				t.Errorf("HOLD: %v", err)
			}
			held <- m
		}()
		synctest.Wait()
		if m, err := c2.Exchange(t.Context(), Command{Line: "PING"}); err != nil || m.Status != "OK" {
			t.Fatalf("PING while HOLD waits = %+v, %v", m, err)
		}
		if _, err := c2.Exchange(t.Context(), Command{Line: "RELEASE"}); err != nil {
			t.Fatal(err)
		}
		if m := <-held; m.Cmd != "HOLD" || m.Status != "OK" {
			t.Errorf("HOLD answered %+v, want HOLD OK", m)
		}
	})
}

// TestCommandClientSkipsStale plays the device by hand: a late answer to an
// earlier command and a malformed frame come before the right answer.
func TestCommandClientSkipsStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev, pos := Pipe()
		c := NewCommandClient(pos, CommandClientConfig{Logger: testLogger(t)})
		defer c.Close()
		l := NewFrameLink(dev, FrameConfig{Logger: testLogger(t)})
		defer l.Close()
		go func() {
			ctx := t.Context()
			if cmd, err := l.Recv(ctx); err != nil || string(cmd) != "STATUS" {
				t.Errorf("device got %q, %v", cmd, err)
				return
			}
			for _, ans := range []string{"WAIT TIMEOUT", "garbage", "STATUS OK READY"} {
				l.Send(ctx, []byte(ans))
			}
		}()
		m, err := c.Exchange(t.Context(), Command{Line: "STATUS"})
		if err != nil || m.Cmd != "STATUS" || m.Detail != "READY" {
			t.Errorf("Exchange = %+v, %v; want STATUS OK READY", m, err)
		}
	})
}

// TestCommandClientNoAnswer: a device that ACKs but never answers gives the
// client's NoAnswer error once Wait has passed (in virtual time); a closed
// one gives it at once.
func TestCommandClientNoAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev, pos := Pipe()
		c := NewCommandClient(pos, CommandClientConfig{Logger: testLogger(t), NoAnswer: errNoTestDevice})
		defer c.Close()
		l := NewFrameLink(dev, FrameConfig{})
		start := time.Now()
		_, err := c.Exchange(t.Context(), Command{Line: "STATUS", Wait: 7 * time.Second})
		if !errors.Is(err, errNoTestDevice) {
			t.Fatalf("Exchange to a silent device = %v, want errNoTestDevice", err)
		}
		if waited := time.Since(start); waited != 7*time.Second {
			t.Errorf("gave up after %v, want the command's Wait, 7s", waited)
		}
		l.Close()
		if _, err := c.Exchange(t.Context(), Command{Line: "STATUS"}); !errors.Is(err, errNoTestDevice) {
			t.Errorf("Exchange to a closed device = %v, want errNoTestDevice", err)
		}
	})
}

// TestCommandCancelWith: when the caller gives up on a held command, the
// client sends its CancelWith command so the device drops it, and the
// next command gets its own answer, not the held one's.
func TestCommandCancelWith(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _, c := startCommandPair(t, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.Exchange(ctx, Command{Line: "HOLD", Wait: time.Minute, CancelWith: "CANCEL"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Exchange = %v, want the caller's deadline", err)
		}
		select {
		case <-d.cancels:
		default:
			t.Fatal("device got no CANCEL")
		}
		if m, err := c.Exchange(t.Context(), Command{Line: "PING"}); err != nil || m.Cmd != "PING" {
			t.Errorf("next Exchange = %+v, %v; want PING's answer", m, err)
		}
		// Without CancelWith nothing is sent.
		ctx, cancel = context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		c.Exchange(ctx, Command{Line: "HOLD", Wait: time.Minute})
		synctest.Wait()
		if len(d.cancels) != 0 {
			t.Error("CANCEL sent for a command without CancelWith")
		}
	})
}

// TestCommandServeEnds: Serve returns nil when its ctx ends and an error
// when the POS hangs up; either way it closes the port.
func TestCommandServeEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewCommandServer(CommandServerConfig{Logger: testLogger(t), Handle: newTestDevice().handle})
		defer srv.Close()

		dev, pos := Pipe()
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ctx, dev) }()
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve after its ctx ended = %v, want nil", err)
		}
		if _, err := pos.Write([]byte{ACK}); err == nil {
			t.Error("port still open after Serve returned")
		}

		dev, pos = Pipe()
		go func() { errc <- srv.Serve(t.Context(), dev) }()
		pos.Close()
		if err := <-errc; !errors.Is(err, io.EOF) {
			t.Errorf("Serve after the POS hung up = %v, want io.EOF", err)
		}
	})
}

// TestCable: while unplugged the device does not answer and frames sent
// meanwhile are lost; plugged again it answers the next command.
func TestCable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cable Cable
		if !cable.Plugged() {
			t.Fatal("zero Cable is unplugged")
		}
		_, _, c := startCommandPair(t, &cable)
		cable.Unplug()
		if _, err := c.Exchange(t.Context(), Command{Line: "PING lost"}); !errors.Is(err, errNoTestDevice) {
			t.Fatalf("Exchange while unplugged = %v, want errNoTestDevice", err)
		}
		cable.Plug()
		m, err := c.Exchange(t.Context(), Command{Line: "PING back"})
		if err != nil || m.Detail != "back" {
			t.Errorf("Exchange after Plug = %+v, %v; want PING OK back", m, err)
		}
	})
}

func BenchmarkCommandExchange(b *testing.B) {
	d := newTestDevice()
	srv := NewCommandServer(CommandServerConfig{Handle: d.handle})
	dev, pos := Pipe()
	srv.Attach(dev)
	c := NewCommandClient(pos, CommandClientConfig{})
	defer srv.Close()
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Exchange(b.Context(), Command{Line: "PING"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReplyAfter: the answer waits for its channel, goes at once for nil,
// and is dropped if the link's ctx ends first.
func TestReplyAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate, never := make(chan struct{}), make(chan struct{})
		srv := NewCommandServer(CommandServerConfig{Logger: testLogger(t), Handle: func(ctx context.Context, rs *Responder, data []byte) {
			switch string(data) {
			case "GATED":
				rs.ReplyAfter(ctx, gate, Message{Cmd: "GATED", Status: "OK"})
			case "NEVER":
				rs.ReplyAfter(ctx, never, Message{Cmd: "NEVER", Status: "OK"})
			default:
				rs.ReplyAfter(ctx, nil, Message{Cmd: string(data), Status: "OK"})
			}
		}})
		dev, pos := Pipe()
		srv.Attach(dev)
		c := NewCommandClient(pos, CommandClientConfig{Logger: testLogger(t)})
		defer srv.Close()
		defer c.Close()
		if _, err := c.Exchange(t.Context(), Command{Line: "NOW"}); err != nil {
			t.Fatalf("ReplyAfter(nil): %v", err)
		}
		got := make(chan error, 1)
		go func() {
			_, err := c.Exchange(t.Context(), Command{Line: "GATED", Wait: time.Hour})
			got <- err
		}()
		time.Sleep(time.Minute)
		select {
		case err := <-got:
			t.Fatalf("GATED answered before its gate opened: %v", err)
		default:
		}
		close(gate)
		if err := <-got; err != nil {
			t.Errorf("GATED after the gate opened: %v", err)
		}
		// An answer whose gate never opens ends with the server; the bubble
		// would report its goroutine if it leaked.
		if _, err := c.Exchange(t.Context(), Command{Line: "NEVER", Wait: time.Second}); err == nil {
			t.Error("NEVER was answered")
		}
	})
}
