package bridge

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

// Config configures a Bridge. Exactly one POS side is used: a TCP listener
// if TCPAddr is set, otherwise a pty (at PTYLink if set).
type Config struct {
	// Device is the real device side; the bridge owns it and closes it.
	Device serial.Port
	// PTYLink is the stable path POS software opens (a symlink to the pty).
	PTYLink string
	// TCPAddr is where to listen instead, e.g. "127.0.0.1:9100". One POS
	// client at a time; a new client replaces the old one.
	TCPAddr string
	// Record receives one JSON line per chunk and event (see Record). Nil
	// means no recording.
	Record io.Writer
	Logger *slog.Logger
	// Now stamps records; nil means time.Now.
	Now func() time.Time
}

// posWriteTimeout bounds a write to a TCP client that stopped reading.
const posWriteTimeout = 2 * time.Second

// Bridge joins a device to a pty or TCP port. See the package doc.
type Bridge struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	recMu  sync.Mutex
	enc    *json.Encoder
	recBad bool

	dmu    sync.Mutex // one disconnect at a time
	mu     sync.Mutex
	faults []*faultState
	pos    io.ReadWriteCloser // current POS connection, nil when none
	path   string             // PTY mode: what POS software opens
	ln     net.Listener
	closed bool

	closing   chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New returns a bridge; Start runs it.
func New(cfg Config) *Bridge {
	b := &Bridge{cfg: cfg, log: cfg.Logger, now: cfg.Now, closing: make(chan struct{})}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if cfg.Record != nil {
		b.enc = json.NewEncoder(cfg.Record)
	}
	return b
}

// Start opens the POS side (pty or listener) and starts forwarding. Errors
// come back synchronously.
func (b *Bridge) Start() error {
	if b.cfg.Device == nil {
		return errors.New("starting bridge: no device")
	}
	if b.cfg.TCPAddr != "" && b.cfg.PTYLink != "" {
		return errors.New("starting bridge: both a pty link and a TCP address given; choose one")
	}
	if b.cfg.TCPAddr != "" {
		ln, err := net.Listen("tcp", b.cfg.TCPAddr)
		if err != nil {
			return fmt.Errorf("starting bridge: %w", err)
		}
		b.ln = ln
		b.log.Info("bridge listening", "addr", ln.Addr().String())
		b.wg.Go(b.acceptLoop)
	} else {
		p, err := b.openPTY()
		if err != nil {
			return fmt.Errorf("starting bridge: %w", err)
		}
		b.pos, b.path = p, p.Path()
		b.log.Info("bridge pty ready", "path", p.Path(), "slave", p.SlaveName())
		b.wg.Go(b.ptyLoop)
	}
	b.wg.Go(b.devLoop)
	return nil
}

func (b *Bridge) openPTY() (*serial.PTY, error) {
	return serial.OpenPTY(serial.PTYConfig{Link: b.cfg.PTYLink, Logger: b.log})
}

// Path is the pty path POS software opens (PTY mode), else "".
func (b *Bridge) Path() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.path
}

// Addr is the TCP listener's address (TCP mode), else "".
func (b *Bridge) Addr() string {
	if b.ln == nil {
		return ""
	}
	return b.ln.Addr().String()
}

// SetFault installs f while the bridge runs. A Disconnect with no Dir acts
// at once. Faults apply in the order set; all matching faults apply.
func (b *Bridge) SetFault(f Fault) {
	b.log.Info("bridge fault set", "kind", f.Kind.String(), "dir", string(f.Dir), "count", f.Count, "delay", f.Delay)
	if f.Kind == Disconnect && f.Dir == "" {
		b.disconnect()
		return
	}
	left := f.Count
	if left <= 0 {
		left = -1
	}
	b.mu.Lock()
	b.faults = append(b.faults, &faultState{f: f, left: left})
	b.mu.Unlock()
}

// ClearFaults removes every installed fault.
func (b *Bridge) ClearFaults() {
	b.mu.Lock()
	b.faults = nil
	b.mu.Unlock()
}

// take returns the faults that apply to the next chunk in dir, using up
// one of each one's count.
func (b *Bridge) take(d Dir) []Fault {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Fault
	kept := b.faults[:0]
	for _, s := range b.faults {
		if s.matches(d) {
			out = append(out, s.f)
			if s.left > 0 {
				s.left--
			}
		}
		if s.left != 0 {
			kept = append(kept, s)
		}
	}
	b.faults = kept
	return out
}

// disconnect drops the current POS connection; its loop notices. In PTY
// mode a fresh pty takes over the link before the old one is closed, so the
// link never goes missing: a client reopening at once finds the new one.
func (b *Bridge) disconnect() {
	b.dmu.Lock()
	defer b.dmu.Unlock()
	b.mu.Lock()
	old := b.pos
	b.mu.Unlock()
	if old == nil {
		return
	}
	b.log.Info("bridge disconnecting POS side")
	if b.ln == nil {
		np, err := b.openPTY()
		if err != nil {
			b.log.Error("bridge reopening pty failed", "err", err)
		} else {
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				np.Close()
				return
			}
			b.pos, b.path = np, np.Path()
			b.mu.Unlock()
			b.log.Info("bridge pty reopened", "path", np.Path(), "slave", np.SlaveName())
		}
	}
	old.Close()
	if b.ln == nil {
		b.event("pos-disconnected")
		b.event("pos-connected")
	}
}

func (b *Bridge) record(r Record) {
	if b.enc == nil {
		return
	}
	if r.T == "" {
		r.T = b.stamp()
	}
	b.recMu.Lock()
	defer b.recMu.Unlock()
	if err := b.enc.Encode(r); err != nil && !b.recBad {
		b.recBad = true // log once, keep bridging
		b.log.Error("bridge record write failed", "err", err)
	}
}

func (b *Bridge) stamp() string { return b.now().UTC().Format(time.RFC3339Nano) }

func (b *Bridge) event(e string) { b.record(Record{Event: e}) }

// forward applies faults to a chunk read in direction d, records it and
// writes what is left to dst (nil: no POS client). The record is written
// before the bytes are forwarded, so a reader that saw the bytes arrive
// finds them recorded. It reports false when the bridge closes during a
// delay.
func (b *Bridge) forward(d Dir, chunk []byte, dst func() io.Writer) bool {
	rec := Record{T: b.stamp(), Dir: d, Hex: hex.EncodeToString(chunk)}
	out := chunk
	var applied []string
	disconnect := false
	for _, f := range b.take(d) {
		applied = append(applied, f.Kind.String())
		switch f.Kind {
		case Delay:
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-b.closing:
				t.Stop()
				return false
			}
		case Drop:
			out = nil
		case Corrupt:
			if out != nil {
				out = corrupt(out, f.Offset)
				rec.Sent = hex.EncodeToString(out)
			}
		case Disconnect:
			out, disconnect = nil, true
		}
	}
	var w io.Writer
	if out != nil {
		if w = dst(); w == nil {
			applied = append(applied, "no-client")
		}
	}
	rec.Fault = strings.Join(applied, "+")
	b.record(rec)
	if w != nil {
		if _, err := w.Write(out); err != nil {
			b.log.Debug("bridge write failed", "dir", string(d), "err", err)
		}
	}
	if disconnect {
		b.disconnect()
	}
	return true
}

// posWriter returns whoever is on the POS side now, or nil.
func (b *Bridge) posWriter() io.Writer {
	b.mu.Lock()
	c := b.pos
	b.mu.Unlock()
	if c == nil {
		return nil
	}
	if nc, ok := c.(net.Conn); ok {
		nc.SetWriteDeadline(time.Now().Add(posWriteTimeout))
	}
	return c
}

func (b *Bridge) devWriter() io.Writer { return b.cfg.Device }

func (b *Bridge) devLoop() {
	buf := make([]byte, 4096)
	for {
		n, err := b.cfg.Device.Read(buf)
		if n > 0 && !b.forward(DevToPOS, buf[:n], b.posWriter) {
			return
		}
		if err != nil {
			select {
			case <-b.closing:
			default:
				b.log.Warn("bridge device closed", "err", err)
				b.event("device-closed")
			}
			return
		}
	}
}

// pumpPOS forwards one POS connection to the device until it ends.
func (b *Bridge) pumpPOS(c io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 && !b.forward(POSToDev, buf[:n], b.devWriter) {
			return
		}
		if err != nil {
			return
		}
	}
}

// ptyLoop serves the current pty; after a Disconnect fault it moves on to
// the pty that replaced it, as a device unplugged and plugged in again.
func (b *Bridge) ptyLoop() {
	for {
		b.mu.Lock()
		p, closed := b.pos, b.closed
		b.mu.Unlock()
		if closed || p == nil {
			return
		}
		b.pumpPOS(p)
		b.mu.Lock()
		replaced := b.pos != p
		closed = b.closed
		b.mu.Unlock()
		if closed {
			return
		}
		if !replaced {
			b.log.Error("bridge pty failed; POS side gone")
			p.Close()
			return
		}
	}
}

func (b *Bridge) acceptLoop() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return // listener closed
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			c.Close()
			return
		}
		old := b.pos
		b.pos = c
		b.mu.Unlock()
		if old != nil {
			b.log.Info("bridge: new POS client replaces the old one")
			old.Close()
		}
		b.log.Info("bridge POS client connected", "remote", c.RemoteAddr().String())
		b.event("pos-connected")
		b.wg.Go(func() {
			b.pumpPOS(c)
			c.Close()
			b.mu.Lock()
			if b.pos == c {
				b.pos = nil
			}
			b.mu.Unlock()
			b.event("pos-disconnected")
		})
	}
}

// Close stops the bridge: closes the POS side, the listener and the device,
// and waits for every goroutine it started.
func (b *Bridge) Close() error {
	b.closeOnce.Do(func() {
		close(b.closing)
		b.mu.Lock()
		b.closed = true
		pos, ln := b.pos, b.ln
		b.mu.Unlock()
		var errs []error
		if ln != nil {
			errs = append(errs, ln.Close())
		}
		if pos != nil {
			pos.Close() // a client's own close error is not ours to report
		}
		if b.cfg.Device != nil {
			errs = append(errs, b.cfg.Device.Close())
		}
		b.wg.Wait()
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}
