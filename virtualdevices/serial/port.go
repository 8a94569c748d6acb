package serial

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	bugserial "go.bug.st/serial"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Port is a byte link: a pty, a real serial port or an in-memory pipe.
// Close unblocks pending Read/Write.
type Port interface {
	io.ReadWriteCloser
}

// OpenPort opens a real serial port (or any tty) through go.bug.st/serial at
// baud, 8N1, raw, no flow control. The port is opened exclusively (TIOCEXCL).
func OpenPort(name string, baud int) (Port, error) {
	p, err := bugserial.Open(name, &bugserial.Mode{
		BaudRate: baud,
		DataBits: 8,
		Parity:   bugserial.NoParity,
		StopBits: bugserial.OneStopBit,
	})
	if err != nil {
		return nil, fmt.Errorf("opening serial port %s at %d baud: %w", name, baud, err)
	}
	return &serialPort{p: p, name: name}, nil
}

// serialPort adapts go.bug.st/serial to Port, turning its "closed" and
// hang-up errors into io.EOF so callers see one end-of-link signal.
type serialPort struct {
	p    bugserial.Port
	name string
}

func (s *serialPort) Read(b []byte) (int, error) {
	for {
		n, err := s.p.Read(b)
		if err != nil {
			if isHangup(err) || isPortClosed(err) {
				return n, io.EOF
			}
			return n, fmt.Errorf("reading %s: %w", s.name, err)
		}
		if n > 0 || len(b) == 0 {
			return n, nil
		}
		// n == 0 without error only happens on a read timeout, which we never set.
	}
}

func (s *serialPort) Write(b []byte) (int, error) {
	n, err := s.p.Write(b)
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", s.name, err)
	}
	return n, nil
}

func (s *serialPort) Close() error { return s.p.Close() }

func isPortClosed(err error) bool {
	var pe *bugserial.PortError
	return errors.As(err, &pe) && pe.Code() == bugserial.PortClosed
}

// OpenRaw opens a tty path (a pty slave, a possim device symlink, a USB
// adapter) the way a POS application does: O_RDWR|O_NOCTTY, raw mode (no echo,
// no CR/LF translation, no signals), and its input queue flushed so bytes
// left over from a previous client are not mistaken for replies.
func OpenRaw(path string) (Port, error) {
	// O_NONBLOCK makes the os.File pollable, so deadlines work and Close
	// unblocks a pending Read.
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := makeRaw(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("setting %s to raw mode: %w", path, err)
	}
	if err := flushInput(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("flushing %s: %w", path, err)
	}
	return &rawPort{f: f}, nil
}

// rawPort is the POS side of a tty. A pty slave whose master went away reads
// EIO; that is the device hanging up, reported as io.EOF.
type rawPort struct{ f *os.File }

func (r *rawPort) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	if err != nil && (isHangup(err) || errors.Is(err, os.ErrClosed)) {
		return n, io.EOF
	}
	return n, err
}

func (r *rawPort) Write(b []byte) (int, error) { return r.f.Write(b) }
func (r *rawPort) Close() error                { return r.f.Close() }

// Name is the path the port was opened at.
func (r *rawPort) Name() string { return r.f.Name() }

// withFd runs fn on f's descriptor without f.Fd(), which would switch the
// file back to blocking mode and break deadlines and Close.
func withFd(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func makeRaw(f *os.File) error {
	return withFd(f, func(fd int) error {
		_, err := term.MakeRaw(fd)
		return err
	})
}

func flushInput(f *os.File) error {
	return withFd(f, func(fd int) error {
		return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH)
	})
}

// isHangup reports a tty whose other side is gone: Linux returns EIO on a
// pty whose peer has no open descriptor left.
func isHangup(err error) bool {
	return errors.Is(err, syscall.EIO)
}

// IsClosed reports whether err means the link was closed, hung up or reset
// (by either end), as opposed to a fault worth logging.
func IsClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || isHangup(err) || isPortClosed(err)
}
