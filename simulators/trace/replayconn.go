package trace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// replayConn is one connection to the host and the answers read on it.
type replayConn struct {
	n    int
	conn net.Conn
	d    *iso.Dialect

	mu      sync.Mutex
	pending []*iso8583.Message
	arrived chan struct{} // signalled on every answer, and when reading ends
	done    chan struct{}
	closed  bool
	wg      sync.WaitGroup
}

func dial(ctx context.Context, opts ReplayOptions, n int) (*replayConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to the host at %s: %w", opts.Addr, err)
	}
	c := &replayConn{n: n, conn: nc, d: opts.Dialect,
		arrived: make(chan struct{}, 1), done: make(chan struct{})}
	c.wg.Add(1)
	go c.read()
	return c, nil
}

// send frames m in the dialect with env, made to fit it: a recorded TPDU
// goes back as it was, unless its ID is not the dialect's.
func (c *replayConn) send(m *iso8583.Message, env iso.Envelope) error {
	packed, err := m.Pack()
	if err != nil {
		return fmt.Errorf("packing the request: %w", err)
	}
	frame, err := c.d.AppendFrame(nil, c.d.Fit(env), packed)
	if err != nil {
		return fmt.Errorf("framing the request: %w", err)
	}
	if _, err := c.conn.Write(frame); err != nil {
		return fmt.Errorf("sending the request: %w", err)
	}
	return nil
}

// read takes answers until the host closes the connection. A frame that
// does not unpack is kept as a message without fields, so it still shows
// as an answer that differs.
func (c *replayConn) read() {
	defer c.wg.Done()
	defer close(c.done)
	for {
		_, body, off, err := c.d.ReadFrame(c.conn)
		var m *iso8583.Message
		if err == nil {
			m, err = c.d.Unpack(body, off)
		}
		if err != nil {
			var fe *iso.FrameError
			if body == nil || !errors.As(err, &fe) {
				return // the stream is out of step or closed
			}
			m = c.d.NewMessage()
			m.MTI("????")
		}
		c.mu.Lock()
		c.pending = append(c.pending, m)
		c.mu.Unlock()
		select {
		case c.arrived <- struct{}{}:
		default:
		}
	}
}

// await returns the first answer with the response MTI, STAN and
// terminal asked for, or any answer that came when none of them does (an
// answer with a wrong STAN is still this request's answer), or nil after
// wait.
func (c *replayConn) await(ctx context.Context, mti, stan, tid string, wait time.Duration) *iso8583.Message {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		c.mu.Lock()
		for i, m := range c.pending {
			gm, _ := m.GetMTI()
			gs, _ := m.GetString(11)
			gt, _ := m.GetString(41)
			if gm == mti && gs == stan && gt == tid {
				c.pending = append(c.pending[:i], c.pending[i+1:]...)
				c.mu.Unlock()
				return m
			}
		}
		c.mu.Unlock()
		select {
		case <-c.arrived:
			continue
		case <-c.done:
		case <-t.C:
		case <-ctx.Done():
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.pending) > 0 {
			m := c.pending[0]
			c.pending = c.pending[1:]
			return m
		}
		return nil
	}
}

// close ends the connection and waits for its reader.
func (c *replayConn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.conn.Close()
	c.wg.Wait()
}
