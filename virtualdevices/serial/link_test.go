package serial

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// testLogger routes logs to t.Log so they show only on failure.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// rawPeer reads everything the link writes, for tests that play the other
// side by hand.
type rawPeer struct {
	p   Port
	got chan byte
}

func newRawPeer(t *testing.T, p Port) *rawPeer {
	r := &rawPeer{p: p, got: make(chan byte, 1024)}
	go func() {
		defer close(r.got)
		buf := make([]byte, 64)
		for {
			n, err := p.Read(buf)
			for _, c := range buf[:n] {
				r.got <- c
			}
			if err != nil {
				return
			}
		}
	}()
	return r
}

// next returns the next byte the link wrote, or fails after d of (virtual) time.
func (r *rawPeer) next(t *testing.T, d time.Duration) byte {
	t.Helper()
	select {
	case c, ok := <-r.got:
		if !ok {
			t.Fatal("link closed, want a byte")
		}
		return c
	case <-time.After(d):
		t.Fatalf("no byte from link within %v", d)
		return 0
	}
}

func (r *rawPeer) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := r.p.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestFrameLinkRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		la := NewFrameLink(a, FrameConfig{Logger: testLogger(t)})
		lb := NewFrameLink(b, FrameConfig{Logger: testLogger(t)})
		defer la.Close()
		defer lb.Close()
		ctx := context.Background()

		go func() {
			for {
				req, err := lb.Recv(ctx)
				if err != nil {
					return
				}
				lb.Send(ctx, append([]byte("re:"), req...))
			}
		}()
		for _, msg := range []string{"PING", "", "\r\x06\x15\x04 binary-ish"} {
			if err := la.Send(ctx, []byte(msg)); err != nil {
				t.Fatalf("Send(%q): %v", msg, err)
			}
			got, err := la.Recv(ctx)
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if want := "re:" + msg; string(got) != want {
				t.Errorf("reply %q, want %q", got, want)
			}
		}
	})
}

func TestFrameLinkSendRejectsUnframeable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := Pipe()
		l := NewFrameLink(a, FrameConfig{MaxFrame: 8})
		defer l.Close()
		for _, data := range [][]byte{{'a', STX}, {ETX}, bytes.Repeat([]byte{'x'}, 9)} {
			if err := l.Send(context.Background(), data); !errors.Is(err, ErrFrameData) {
				t.Errorf("Send(% X) = %v, want ErrFrameData", data, err)
			}
		}
	})
}

func TestFrameLinkRetransmit(t *testing.T) {
	tests := []struct {
		name    string
		answers []byte // what the peer answers to each attempt; 0 = silence
		want    error
		sends   int // frames the peer sees
		eot     bool
	}{
		{"ack", []byte{ACK}, nil, 1, false},
		{"nak then ack", []byte{NAK, ACK}, nil, 2, false},
		{"silence then ack", []byte{0, ACK}, nil, 2, false},
		{"nak silence ack", []byte{NAK, 0, ACK}, nil, 3, false},
		{"three naks", []byte{NAK, NAK, NAK}, ErrNoAck, 3, true},
		{"silence", []byte{0, 0, 0}, ErrNoAck, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := Pipe()
				l := NewFrameLink(a, FrameConfig{Logger: testLogger(t)})
				defer l.Close()
				peer := newRawPeer(t, b)
				errc := make(chan error, 1)
				go func() { errc <- l.Send(context.Background(), []byte("REQ")) }()

				want := EncodeFrame([]byte("REQ"))
				for i := 0; i < tt.sends; i++ {
					got := make([]byte, len(want))
					for j := range got {
						got[j] = peer.next(t, time.Second)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("attempt %d: peer got % X, want % X", i+1, got, want)
					}
					if c := tt.answers[i]; c != 0 {
						peer.write(t, []byte{c})
					}
				}
				if err := <-errc; !errors.Is(err, tt.want) {
					t.Fatalf("Send = %v, want %v", err, tt.want)
				}
				if tt.eot {
					if c := peer.next(t, time.Second); c != EOT {
						t.Errorf("after giving up the link wrote 0x%02X, want EOT", c)
					}
				}
				synctest.Wait()
				select {
				case c := <-peer.got:
					t.Errorf("unexpected extra byte 0x%02X", c)
				default:
				}
			})
		})
	}
}

// TestFrameLinkBadInput feeds the receiving side garbage, truncated, bad-LRC
// and oversize frames, each followed by a good one: bad LRC is NAKed, the
// rest skipped, and every good frame is served and ACKed.
func TestFrameLinkBadInput(t *testing.T) {
	tests := []struct {
		name  string
		bad   []byte
		reply []byte // bytes the link answers to the bad input
	}{
		{"garbage", []byte("\xff\xfeHELLO\r\n"), nil},
		{"truncated", []byte{STX, 'P', 'I'}, nil},
		{"bad lrc", []byte{STX, 'P', 'I', 'N', 'G', ETX, 0x00}, []byte{NAK}},
		{"oversize", append(append([]byte{STX}, bytes.Repeat([]byte{'x'}, 40)...), ETX, 0x00), nil},
		{"stray controls", []byte{ACK, NAK, EOT}, nil},
		{"etx alone", []byte{ETX, 0x00}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := Pipe()
				l := NewFrameLink(a, FrameConfig{MaxFrame: 32, Logger: testLogger(t)})
				defer l.Close()
				peer := newRawPeer(t, b)
				peer.write(t, tt.bad)
				for _, want := range tt.reply {
					if c := peer.next(t, time.Second); c != want {
						t.Fatalf("link answered 0x%02X to bad input, want 0x%02X", c, want)
					}
				}
				peer.write(t, EncodeFrame([]byte("GOOD")))
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				got, err := l.Recv(ctx)
				if err != nil || string(got) != "GOOD" {
					t.Fatalf("Recv = %q, %v; want \"GOOD\"", got, err)
				}
				if c := peer.next(t, time.Second); c != ACK {
					t.Errorf("link answered 0x%02X to a good frame, want ACK", c)
				}
			})
		})
	}
}

// TestFrameLinkFaults runs a request/reply exchange through each link fault
// and checks the protocol recovers (or reports the hang-up).
func TestFrameLinkFaults(t *testing.T) {
	frameLen := len(EncodeFrame([]byte("PING")))
	tests := []struct {
		name     string
		wrap     func(io.Reader) io.Reader
		wantSend error // nil: the exchange completes
		devEOF   bool  // the device side sees the link end
	}{
		{"one byte at a time", OneByteReader, nil, false},
		{"stall mid-frame", func(r io.Reader) io.Reader { return StallReader(r, 3, 300*time.Millisecond) }, nil, false},
		{"corrupt data byte", func(r io.Reader) io.Reader { return CorruptReader(r, 2) }, nil, false},
		{"corrupt LRC", func(r io.Reader) io.Reader { return CorruptReader(r, frameLen-1) }, nil, false},
		{"corrupt STX", func(r io.Reader) io.Reader { return CorruptReader(r, 0) }, nil, false},
		{"stall beyond retries", func(r io.Reader) io.Reader { return StallReader(r, 3, 2*time.Second) }, ErrNoAck, false},
		{"hang-up mid-frame", func(r io.Reader) io.Reader { return HangupReader(r, 3) }, ErrNoAck, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := Pipe()
				pos := NewFrameLink(a, FrameConfig{Logger: testLogger(t)})
				dev := NewFrameLink(WithReader(b, tt.wrap(b)), FrameConfig{Logger: testLogger(t)})
				defer pos.Close()
				defer dev.Close()
				ctx := context.Background()
				devDone := make(chan error, 1)
				go func() {
					req, err := dev.Recv(ctx)
					if err == nil {
						err = dev.Send(ctx, append(req, "-OK"...))
					}
					devDone <- err
				}()
				err := pos.Send(ctx, []byte("PING"))
				if !errors.Is(err, tt.wantSend) {
					t.Fatalf("Send = %v, want %v", err, tt.wantSend)
				}
				if tt.devEOF {
					if err := <-devDone; err != io.EOF {
						t.Errorf("device Recv after hang-up = %v, want io.EOF", err)
					}
				}
				if tt.wantSend != nil {
					return
				}
				got, err := pos.Recv(ctx)
				if err != nil || string(got) != "PING-OK" {
					t.Fatalf("Recv = %q, %v; want \"PING-OK\"", got, err)
				}
			})
		})
	}
}

func TestFrameLinkCloseUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		defer b.Close()
		l := NewFrameLink(a, FrameConfig{})
		recvErr := make(chan error, 1)
		sendErr := make(chan error, 1)
		go func() { _, err := l.Recv(context.Background()); recvErr <- err }()
		go func() { sendErr <- l.Send(context.Background(), []byte("X")) }()
		synctest.Wait()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-recvErr; err != io.EOF {
			t.Errorf("Recv after Close = %v, want io.EOF", err)
		}
		if err := <-sendErr; err != io.EOF {
			t.Errorf("Send after Close = %v, want io.EOF", err)
		}
	})
}

func TestFrameLinkPeerClosesAfterFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		l := NewFrameLink(a, FrameConfig{})
		defer l.Close()
		b.Write(EncodeFrame([]byte("LAST")))
		b.Write([]byte{STX, 'x'}) // and dies mid-frame
		b.Close()
		ctx := context.Background()
		if got, err := l.Recv(ctx); err != nil || string(got) != "LAST" {
			t.Fatalf("Recv = %q, %v; want the frame sent before close", got, err)
		}
		if _, err := l.Recv(ctx); err != io.EOF {
			t.Fatalf("Recv = %v, want io.EOF", err)
		}
	})
}

func TestFrameLinkRecvContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		defer b.Close()
		l := NewFrameLink(a, FrameConfig{})
		defer l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := l.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv = %v, want DeadlineExceeded", err)
		}
	})
}
