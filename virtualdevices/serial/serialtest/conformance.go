// Package serialtest is the shared conformance check for possim devices on a
// pty, in the spirit of testing/fstest.TestFS: every device's own tests call
// Conformance (framed devices) or Run (raw devices too) with a way to start
// the device, and the suite plays a POS application against its pty path:
// noise, bad frames, clients that come and go. It uses real ptys and real
// time, so it belongs to wired-mode tests.
package serialtest

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

// Device describes the device under test.
type Device struct {
	// Open starts a fresh device and returns it with the path a POS
	// application opens (its pty link). The suite calls Open once per
	// subtest and closes dev when the subtest ends.
	Open func(t *testing.T) (dev io.Closer, posPath string)
	// Probe is a request the device must answer: the data of one frame
	// (framed devices) or raw bytes (Raw devices; may be empty with Trigger).
	Probe []byte
	// WantReply reports whether reply answers Probe. Framed devices: the
	// data of the reply frame. Raw devices: all bytes read so far; it is
	// called again as more arrive, until true or Timeout.
	WantReply func(reply []byte) bool
	// Raw is set for devices that speak raw bytes, not STX/ETX frames
	// (ESC/POS printer, scanner). The frame-level subtests are skipped.
	Raw bool
	// Trigger, if set, runs after each Probe is written: for devices that
	// answer an operator action (a scanner emits a code when one is scanned).
	Trigger func(dev io.Closer)
	// Garbage is written before the first probe. Default for framed devices:
	// noise with no STX/ETX/ACK/NAK in it; none for Raw devices.
	Garbage []byte
	// Timeout bounds each wait for the device (default 5s of real time).
	Timeout time.Duration
}

// DefaultGarbage is the noise written before the first probe of a framed device.
var DefaultGarbage = []byte("\xff\xfeNOISE\r\n\x00\x7f")

// Conformance runs the suite against a framed (STX data ETX LRC) device.
// A device passes when, over its pty path opened as a POS app does
// (serial.OpenRaw), it:
//
//   - answers probe after garbage on the line ("garbage-then-probe");
//   - NAKs a frame with a bad LRC and then serves a good one ("bad-lrc");
//   - skips a truncated frame and serves the next ("truncated");
//   - serves a request written one byte at a time ("byte-at-a-time");
//   - keeps answering when the POS side closes and reopens the path ("reopen");
//   - serves the next client after one closed mid-frame ("close-mid-frame").
//
// wantReply gets the data of the reply frame; the suite ACKs every reply.
func Conformance(t *testing.T, open func(t *testing.T) (dev io.Closer, posPath string), probe []byte, wantReply func([]byte) bool) {
	t.Helper()
	Run(t, Device{Open: open, Probe: probe, WantReply: wantReply})
}

// Run runs the suite for d, framed or Raw.
func Run(t *testing.T, d Device) {
	t.Helper()
	if d.Open == nil || d.WantReply == nil {
		t.Fatal("serialtest: Device.Open and Device.WantReply are required")
	}
	if d.Timeout <= 0 {
		d.Timeout = 5 * time.Second
	}
	if d.Garbage == nil && !d.Raw {
		d.Garbage = DefaultGarbage
	}
	s := &suite{d: d}
	if d.Raw {
		t.Run("garbage-then-probe", s.rawProbe)
		t.Run("reopen", s.rawReopen)
		t.Run("close-with-unread-reply", s.rawUnreadReply)
		return
	}
	t.Run("garbage-then-probe", s.garbageThenProbe)
	t.Run("bad-lrc", s.badLRC)
	t.Run("truncated", s.truncated)
	t.Run("byte-at-a-time", s.byteAtATime)
	t.Run("reopen", s.reopen)
	t.Run("close-mid-frame", s.closeMidFrame)
}

type suite struct{ d Device }

// start opens a fresh device and closes it when the subtest ends.
func (s *suite) start(t *testing.T) (io.Closer, string) {
	t.Helper()
	dev, path := s.d.Open(t)
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("closing device: %v", err)
		}
	})
	return dev, path
}

func (s *suite) garbageThenProbe(t *testing.T) {
	dev, path := s.start(t)
	c := s.dial(t, dev, path)
	c.write(t, s.d.Garbage)
	c.exchange(t)
}

func (s *suite) badLRC(t *testing.T) {
	dev, path := s.start(t)
	c := s.dial(t, dev, path)
	bad := serial.EncodeFrame(s.d.Probe)
	bad[len(bad)-1] ^= 0xFF
	c.write(t, bad)
	if b := c.nextControl(t); b != serial.NAK {
		t.Fatalf("device answered a bad-LRC frame with 0x%02X, want NAK (0x15)", b)
	}
	c.exchange(t)
}

func (s *suite) truncated(t *testing.T) {
	dev, path := s.start(t)
	c := s.dial(t, dev, path)
	f := serial.EncodeFrame(s.d.Probe)
	c.write(t, f[:len(f)/2])
	c.exchange(t)
}

func (s *suite) byteAtATime(t *testing.T) {
	dev, path := s.start(t)
	c := s.dial(t, dev, path)
	for _, b := range serial.EncodeFrame(s.d.Probe) {
		c.write(t, []byte{b})
		time.Sleep(time.Millisecond) // lets the device read partial frames
	}
	c.expectAck(t)
	c.expectReply(t)
}

func (s *suite) reopen(t *testing.T) {
	dev, path := s.start(t)
	for i := range 3 {
		c := s.dial(t, dev, path)
		c.exchange(t)
		c.close(t)
		t.Logf("client %d served", i+1)
	}
}

func (s *suite) closeMidFrame(t *testing.T) {
	dev, path := s.start(t)
	c := s.dial(t, dev, path)
	f := serial.EncodeFrame(s.d.Probe)
	c.write(t, f[:len(f)/2+1])
	c.close(t)
	c2 := s.dial(t, dev, path)
	c2.exchange(t)
}

func (s *suite) rawProbe(t *testing.T) {
	dev, path := s.start(t)
	c := s.dial(t, dev, path)
	if len(s.d.Garbage) > 0 {
		c.write(t, s.d.Garbage)
	}
	c.rawExchange(t)
}

func (s *suite) rawReopen(t *testing.T) {
	dev, path := s.start(t)
	for range 3 {
		c := s.dial(t, dev, path)
		c.rawExchange(t)
		c.close(t)
	}
}

// rawUnreadReply: a client that leaves before reading its reply must not
// confuse the next one (its reply may still be in the pty; OpenRaw flushes).
func (s *suite) rawUnreadReply(t *testing.T) {
	dev, path := s.start(t)
	c := s.dial(t, dev, path)
	c.write(t, s.d.Probe)
	c.trigger()
	c.close(t)
	c2 := s.dial(t, dev, path)
	c2.rawExchange(t)
}

// client is one POS-side connection: the port and a goroutine that moves
// what it reads into a channel, so waits can time out.
type client struct {
	d    Device
	dev  io.Closer
	port serial.Port
	in   chan []byte
	done chan struct{}
	dec  serial.Decoder
	acc  []byte // bytes read but not yet decoded (framed devices)
}

func (s *suite) dial(t *testing.T, dev io.Closer, path string) *client {
	t.Helper()
	p, err := serial.OpenRaw(path)
	if err != nil {
		t.Fatalf("opening the device path as a POS app: %v", err)
	}
	c := &client{d: s.d, dev: dev, port: p, in: make(chan []byte, 64), done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() { p.Close(); <-c.done })
	return c
}

func (c *client) readLoop() {
	defer close(c.done)
	defer close(c.in)
	for {
		buf := make([]byte, 256)
		n, err := c.port.Read(buf)
		if n > 0 {
			c.in <- buf[:n]
		}
		if err != nil {
			return
		}
	}
}

func (c *client) close(t *testing.T) {
	t.Helper()
	if err := c.port.Close(); err != nil {
		t.Fatalf("closing POS side: %v", err)
	}
	<-c.done
}

func (c *client) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := c.port.Write(b); err != nil {
		t.Fatalf("POS write: %v", err)
	}
}

func (c *client) trigger() {
	if c.d.Trigger != nil {
		c.d.Trigger(c.dev)
	}
}

// next returns the next chunk the device wrote, failing after Timeout.
func (c *client) next(t *testing.T, waitingFor string) []byte {
	t.Helper()
	select {
	case b, ok := <-c.in:
		if !ok {
			t.Fatalf("device hung up while waiting for %s", waitingFor)
		}
		return b
	case <-time.After(c.d.Timeout):
		t.Fatalf("no %s from the device within %v", waitingFor, c.d.Timeout)
		return nil
	}
}

// events decodes what the device sent until want accepts an event; bytes
// already read but not yet decoded stay in acc for the next wait.
func (c *client) events(t *testing.T, waitingFor string, want func(serial.Event) bool) serial.Event {
	t.Helper()
	for {
		for len(c.acc) > 0 {
			b := c.acc[0]
			c.acc = c.acc[1:]
			ev := c.dec.Feed(b)
			switch ev.Kind {
			case serial.EventNone:
				continue
			case serial.EventGarbage, serial.EventTruncated, serial.EventOversize:
				t.Errorf("device sent %s while the POS waited for %s", ev.Kind, waitingFor)
				continue
			case serial.EventBadLRC:
				t.Errorf("device sent a frame with a bad LRC while the POS waited for %s", waitingFor)
				continue
			}
			if want(ev) {
				if ev.Data != nil {
					ev.Data = bytes.Clone(ev.Data)
				}
				return ev
			}
			t.Logf("while waiting for %s, skipped %s 0x%02X", waitingFor, ev.Kind, ev.Byte)
		}
		c.acc = append(c.acc, c.next(t, waitingFor)...)
	}
}

func (c *client) nextControl(t *testing.T) byte {
	t.Helper()
	return c.events(t, "ACK/NAK", func(ev serial.Event) bool {
		return ev.Kind == serial.EventControl && ev.Byte != serial.EOT
	}).Byte
}

// expectAck waits for the ACK of the probe, resending it on NAK as a POS
// driver would (the device may have NAKed leftovers of earlier noise).
func (c *client) expectAck(t *testing.T) {
	t.Helper()
	for range 3 {
		switch b := c.nextControl(t); b {
		case serial.ACK:
			return
		case serial.NAK:
			t.Logf("device NAKed; resending the probe")
			c.write(t, serial.EncodeFrame(c.d.Probe))
		}
	}
	t.Fatal("device never ACKed the probe")
}

func (c *client) expectReply(t *testing.T) {
	t.Helper()
	ev := c.events(t, "reply frame", func(ev serial.Event) bool { return ev.Kind == serial.EventFrame })
	c.write(t, []byte{serial.ACK})
	if !c.d.WantReply(ev.Data) {
		// Contents stay out of the message: replies may carry card data.
		t.Fatalf("device replied with %d bytes of frame data: not the wanted reply", len(ev.Data))
	}
}

func (c *client) exchange(t *testing.T) {
	t.Helper()
	c.write(t, serial.EncodeFrame(c.d.Probe))
	c.trigger()
	c.expectAck(t)
	c.expectReply(t)
}

func (c *client) rawExchange(t *testing.T) {
	t.Helper()
	if len(c.d.Probe) > 0 {
		c.write(t, c.d.Probe)
	}
	c.trigger()
	var got []byte
	for !c.d.WantReply(got) {
		got = append(got, c.next(t, "reply")...)
	}
}
