package load

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// errClosed is a request on a connection the host closed.
var errClosed = errors.New("connection closed")

// client is one terminal connection with one request in flight at a time,
// as a real terminal has. It writes the frame and reads until the answer
// with the same STAN arrives; a late answer to an earlier request that
// timed out is skipped. A synchronous client costs the generator a third
// less CPU per request than iso8583-connection's goroutines and channels,
// which leaves more of the machine to the host under test.
type client struct {
	nc      net.Conn
	br      *bufio.Reader
	d       *iso.Dialect
	timeout time.Duration
	buf     []byte
	closed  bool
}

func newClient(nc net.Conn, d *iso.Dialect, timeout time.Duration) *client {
	return &client{nc: nc, br: bufio.NewReaderSize(nc, 4096), d: d, timeout: timeout, buf: make([]byte, 0, 512)}
}

// Send writes m and waits for its answer, matched on STAN.
func (c *client) Send(m *iso8583.Message) (*iso8583.Message, error) {
	if c.closed {
		return nil, errClosed
	}
	stan, _ := m.GetString(11)
	packed, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("packing: %w", err)
	}
	if c.buf, err = c.d.AppendFrame(c.buf[:0], iso.Envelope{}, packed); err != nil {
		return nil, err
	}
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.nc.Write(c.buf); err != nil {
		return nil, c.fail(err)
	}
	for {
		_, raw, off, err := c.d.ReadFrame(c.br)
		if err != nil && raw == nil {
			return nil, c.fail(err)
		}
		if err != nil {
			return nil, fmt.Errorf("answer: %w", err)
		}
		resp, err := c.d.Unpack(raw, off)
		if err != nil {
			return nil, fmt.Errorf("unpacking: %w", err)
		}
		if s, _ := resp.GetString(11); s == stan {
			return resp, nil
		}
	}
}

// fail turns a read or write error into the error the run counts: a
// timeout leaves the connection usable, anything else ends it.
func (c *client) fail(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	c.closed = true
	c.nc.Close()
	return fmt.Errorf("%w: %v", errClosed, err)
}

// Close closes the connection.
func (c *client) Close() error {
	c.closed = true
	return c.nc.Close()
}
