package serial

import (
	"io"
	"sync/atomic"
)

// Cable is the cable between a device and the POS, which the operator can
// pull: while it is unplugged every byte is lost both ways, as on a real
// pulled cable, so the POS sees a device that does not answer (the
// harness's "reader unplugged" and "PIN pad broken" faults). The zero value
// is plugged. One Cable may wrap every link of a device.
type Cable struct {
	unplugged atomic.Bool
}

// Unplug pulls the cable.
func (c *Cable) Unplug() { c.unplugged.Store(true) }

// Plug puts the cable back.
func (c *Cable) Plug() { c.unplugged.Store(false) }

// Plugged reports whether the cable is in.
func (c *Cable) Plugged() bool { return !c.unplugged.Load() }

// Wrap returns port behind the cable. While unplugged, Writes are dropped
// (reported as written, as a UART does not know) and Reads keep draining
// port and discard what they read, so frames sent meanwhile vanish instead
// of arriving stale when the cable goes back. Close closes port.
func (c *Cable) Wrap(port io.ReadWriteCloser) io.ReadWriteCloser {
	return &cabled{rwc: port, c: c}
}

type cabled struct {
	rwc io.ReadWriteCloser
	c   *Cable
}

func (p *cabled) Read(b []byte) (int, error) {
	for {
		n, err := p.rwc.Read(b)
		plugged := p.c.Plugged()
		if plugged || err != nil {
			if !plugged {
				n = 0
			}
			return n, err
		}
	}
}

func (p *cabled) Write(b []byte) (int, error) {
	if !p.c.Plugged() {
		return len(b), nil
	}
	return p.rwc.Write(b)
}

func (p *cabled) Close() error { return p.rwc.Close() }
