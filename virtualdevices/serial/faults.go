package serial

import (
	"io"
	"time"
)

// Link faults for tests, modelled on testing/iotest: each wraps the reading
// side of a link. WithReader puts a wrapped reader back into a Port.

// OneByteReader returns a reader whose Reads return at most one byte, as a
// slow UART delivers them.
func OneByteReader(r io.Reader) io.Reader { return &oneByte{r} }

type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// StallReader passes the first `after` bytes through, then sleeps d once
// before the next Read, as a device that pauses mid-frame.
func StallReader(r io.Reader, after int, d time.Duration) io.Reader {
	return &stall{r: r, left: after, d: d}
}

type stall struct {
	r       io.Reader
	left    int
	d       time.Duration
	stalled bool
}

func (s *stall) Read(p []byte) (int, error) {
	if !s.stalled && s.left == 0 {
		s.stalled = true
		time.Sleep(s.d)
	}
	if !s.stalled && len(p) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	if !s.stalled {
		s.left -= n
	}
	return n, err
}

// CorruptReader flips every bit of the byte at offset `at` of the stream.
func CorruptReader(r io.Reader, at int) io.Reader { return &corrupt{r: r, at: at} }

type corrupt struct {
	r   io.Reader
	at  int
	off int
}

func (c *corrupt) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if i := c.at - c.off; i >= 0 && i < n {
		p[i] ^= 0xFF
	}
	c.off += n
	return n, err
}

// HangupReader passes `after` bytes through, then returns io.EOF, as a peer
// that closed the link (mid-frame, if after falls inside one).
func HangupReader(r io.Reader, after int) io.Reader { return &hangup{r: r, left: after} }

type hangup struct {
	r    io.Reader
	left int
}

func (h *hangup) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, io.EOF
	}
	if len(p) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.left -= n
	return n, err
}

// WithReader returns a Port that reads from r (usually a fault wrapper around
// p) and writes to and closes p.
func WithReader(p Port, r io.Reader) Port { return &withReader{Port: p, r: r} }

type withReader struct {
	Port
	r io.Reader
}

func (w *withReader) Read(b []byte) (int, error) { return w.r.Read(b) }
