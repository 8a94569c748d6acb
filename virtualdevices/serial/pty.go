package serial

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTYConfig configures OpenPTY.
type PTYConfig struct {
	// Link is the stable path POS software opens, e.g. DIR/printer. It is
	// (re)created as a symlink to the slave; empty means no link.
	Link string
	// WriteTimeout bounds how long Write waits for an absent or stuck POS
	// client before discarding what that client never read (default 2s).
	WriteTimeout time.Duration
	Logger       *slog.Logger
}

// ErrHangup is what Read of a PTY returns, once ReportHangups was called,
// when the last client closed the slave after writing: every byte that
// client wrote has been read before, and the next Read waits for the next
// client. A device starts a new protocol session on it.
var ErrHangup = errors.New("pty client hung up")

// PTY is a pseudo-terminal whose slave side is exposed at a stable symlink
// for POS software. We keep our own slave fd open so a client can close and
// reopen the symlink any number of times without the master seeing a
// hang-up, unless the device asks to see them (ReportHangups).
type PTY struct {
	master *os.File
	name   string

	slaveMu sync.Mutex
	slave   *os.File // ours: keeps the slave alive between clients; nil once hang-ups are reported

	reportHangups atomic.Bool
	gotData       bool // since the last hang-up; used by Read only

	link string
	wto  time.Duration
	log  *slog.Logger

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

var _ Port = (*PTY)(nil)

// hangupRetry is how long Read waits before reading again after an EIO.
const hangupRetry = 50 * time.Millisecond

// OpenPTY opens a pty, sets its slave to raw mode and, if cfg.Link is set,
// points the link at the slave (replacing a stale symlink, never a file).
func OpenPTY(cfg PTYConfig) (*PTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("opening pty: %w", err)
	}
	// pty.Open leaves the master in blocking mode (it calls Fd), which
	// defeats Close and deadlines; a non-blocking dup is pollable.
	master, err := pollableDup(m)
	m.Close()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("opening pty: %w", err)
	}
	p := &PTY{
		master: master,
		slave:  s,
		name:   s.Name(),
		wto:    cfg.WriteTimeout,
		log:    cfg.Logger,
		closed: make(chan struct{}),
	}
	if p.wto <= 0 {
		p.wto = 2 * time.Second
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if err := makeRaw(s); err != nil {
		p.Close()
		return nil, fmt.Errorf("setting %s to raw mode: %w", p.name, err)
	}
	if cfg.Link != "" {
		if err := replaceSymlink(p.name, cfg.Link); err != nil {
			p.Close()
			return nil, err
		}
		p.link = cfg.Link
	}
	p.log.Debug("pty open", "slave", p.name, "link", p.link)
	return p, nil
}

func pollableDup(f *os.File) (*os.File, error) {
	var nf *os.File
	err := withFd(f, func(fd int) error {
		d, err := syscall.Dup(fd)
		if err != nil {
			return err
		}
		syscall.CloseOnExec(d)
		if err := syscall.SetNonblock(d, true); err != nil {
			syscall.Close(d)
			return err
		}
		nf = os.NewFile(uintptr(d), f.Name())
		return nil
	})
	return nf, err
}

// replaceSymlink points link at target atomically (symlink beside it, then
// rename), so a POS client never sees the link missing.
func replaceSymlink(target, link string) error {
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("creating pty link: %s exists and is not a symlink", link)
	}
	tmp := filepath.Join(filepath.Dir(link), "."+filepath.Base(link)+".tmp")
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("creating pty link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("creating pty link %s: %w", link, err)
	}
	return nil
}

// Path is the path POS software should open: the link, or the slave name.
func (p *PTY) Path() string {
	if p.link != "" {
		return p.link
	}
	return p.name
}

// SlaveName is the slave device, /dev/pts/N.
func (p *PTY) SlaveName() string { return p.name }

// ReportHangups closes our own slave descriptor, so that the master sees
// the last client closing the slave, and makes Read return ErrHangup then.
// Raw mode stays set on the slave between clients. Call it before reading.
func (p *PTY) ReportHangups() {
	p.slaveMu.Lock()
	s := p.slave
	p.slave = nil
	p.slaveMu.Unlock()
	if s != nil {
		p.reportHangups.Store(true)
		_ = s.Close()
	}
}

// Read returns bytes written by the POS side. After Close it returns io.EOF.
func (p *PTY) Read(b []byte) (int, error) {
	for {
		n, err := p.master.Read(b)
		if err == nil || n > 0 {
			p.gotData = p.gotData || n > 0
			return n, nil
		}
		if errors.Is(err, os.ErrClosed) {
			return 0, io.EOF
		}
		if !isHangup(err) {
			return 0, fmt.Errorf("reading pty %s: %w", p.name, err)
		}
		if p.gotData && p.reportHangups.Load() {
			p.gotData = false
			p.log.Debug("pty client hung up", "slave", p.name)
			return 0, fmt.Errorf("reading pty %s: %w", p.name, ErrHangup)
		}
		// EIO: no slave fd is open (client gone). Ours normally prevents
		// it; if it happens anyway, wait for a client instead of failing.
		p.log.Debug("pty client gone", "slave", p.name)
		t := time.NewTimer(hangupRetry)
		select {
		case <-p.closed:
			t.Stop()
			return 0, io.EOF
		case <-t.C:
		}
	}
}

// Write sends bytes to the POS side. If no client reads them within
// WriteTimeout, the unread input of the slave is discarded (a client that
// reopens flushes it anyway) so a device never blocks on an absent POS.
func (p *PTY) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		p.master.SetWriteDeadline(time.Now().Add(p.wto))
		n, err := p.master.Write(b[written:])
		written += n
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrClosed) {
			return written, io.ErrClosedPipe
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return written, fmt.Errorf("writing pty %s: %w", p.name, err)
		}
		p.log.Warn("pty client not reading, discarding its unread input", "slave", p.name)
		if err := p.flushClientInput(); err != nil {
			return written, fmt.Errorf("writing pty %s: flushing: %w", p.name, err)
		}
	}
	return written, nil
}

// flushClientInput discards what the device wrote and no client read:
// through our slave fd if we hold one, else through the master, whose
// output flush drops the bytes queued towards the slave.
func (p *PTY) flushClientInput() error {
	p.slaveMu.Lock()
	defer p.slaveMu.Unlock()
	if p.slave != nil {
		return flushInput(p.slave)
	}
	return withFd(p.master, func(fd int) error {
		return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCOFLUSH)
	})
}

// Close closes the master and our slave fd and removes the link if it still
// points at this pty. A pending Read returns io.EOF; clients see a hang-up.
func (p *PTY) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		errM := p.master.Close()
		var errS error
		p.slaveMu.Lock()
		if p.slave != nil {
			errS = p.slave.Close()
			p.slave = nil
		}
		p.slaveMu.Unlock()
		var errL error
		if p.link != "" {
			if target, err := os.Readlink(p.link); err == nil && target == p.name {
				errL = os.Remove(p.link)
			}
		}
		p.closeErr = errors.Join(errM, errS, errL)
		p.log.Debug("pty closed", "slave", p.name)
	})
	return p.closeErr
}
