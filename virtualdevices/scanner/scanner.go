package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"

	"github.com/possim/possim/virtualdevices/serial"
)

// Protocol bytes.
const (
	ENQ = 0x05 // health probe from the POS
	ACK = 0x06 // a healthy scanner's answer
)

// DefaultSuffix ends every scanned code unless Config.Suffix says otherwise.
const DefaultSuffix = "\r"

// ErrNotConnected means Scan was called while no POS link is served.
var ErrNotConnected = errors.New("scanner not connected")

// queueLen bounds the scans and answers waiting for a slow POS per link.
const queueLen = 64

// Event kinds, for Event.Kind.
const (
	EventLink    = "link"    // a link was connected or ended
	EventScan    = "scan"    // a code was sent to the POS
	EventDropped = "dropped" // a scan was lost: the scanner is broken
	EventProbe   = "probe"   // an ENQ was answered, or ignored when broken
	EventUnknown = "unknown" // the POS sent bytes that mean nothing here
	EventState   = "state"   // the operator changed the scanner's state
)

// Event is something the scanner saw or did.
type Event struct {
	Device string
	Kind   string
	Detail string
}

// Config configures a Scanner.
type Config struct {
	// Name identifies the device in events and logs; "scanner" if empty.
	Name string
	// Suffix follows every code; nil means DefaultSuffix (CR).
	Suffix []byte
	// Logger receives the device log; nil discards it.
	Logger *slog.Logger
	// OnEvent, if set, is called for every Event, never with a lock held.
	OnEvent func(Event)
}

// Scanner is a virtual barcode/QR scanner.
type Scanner struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// noise coalesces the bytes that are not ENQ into one event per burst.
	noise *serial.Noise

	mu     sync.Mutex
	links  map[*link]struct{}
	broken bool
	garble bool
	closed bool
}

// link is one served byte link; its writer goroutine owns all writes.
type link struct {
	out chan []byte
}

// New returns a healthy scanner.
func New(cfg Config) *Scanner {
	if cfg.Name == "" {
		cfg.Name = "scanner"
	}
	if cfg.Suffix == nil {
		cfg.Suffix = []byte(DefaultSuffix)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scanner{
		cfg:    cfg,
		log:    serial.QuietLog(log, serial.DefaultLogEvery).With("device", cfg.Name),
		ctx:    ctx,
		cancel: cancel,
		links:  make(map[*link]struct{}),
	}
	s.noise = serial.NewNoise(serial.NoiseConfig{Report: func(b serial.Burst) {
		what := fmt.Sprintf("%d bytes of garbage ignored (first %s)", b.Count, b.First)
		if b.Count == 1 {
			what = fmt.Sprintf("byte %s ignored", b.First)
		}
		s.emit(Event{Kind: EventUnknown, Detail: what})
	}})
	return s
}

// Serve serves one link until it ends or ctx is done, and closes the link
// when it returns. It answers ENQ with ACK and writes scans to the link.
// It returns nil when the link ended or ctx is done.
func (s *Scanner) Serve(ctx context.Context, rw io.ReadWriteCloser) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Closing the link unblocks the read when ctx ends; Serve waits for
	// that close to finish, so nothing it started outlives it.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { defer close(closed); _ = rw.Close() })
	defer func() {
		if !stop() {
			<-closed
		}
	}()

	l := &link{out: make(chan []byte, queueLen)}
	s.mu.Lock()
	s.links[l] = struct{}{}
	s.mu.Unlock()
	s.emit(Event{Kind: EventLink, Detail: "connected"})

	writeErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case b := <-l.out:
				if _, err := rw.Write(b); err != nil {
					writeErr <- err
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	})
	defer func() {
		s.mu.Lock()
		delete(s.links, l)
		s.mu.Unlock()
		cancel() // closes rw, which ends a blocked write
		wg.Wait()
		s.noise.Flush()
		s.emit(Event{Kind: EventLink, Detail: "ended"})
	}()

	buf := make([]byte, 4096)
	for {
		n, err := rw.Read(buf)
		for _, b := range buf[:n] {
			s.received(l, b)
		}
		if err != nil {
			select {
			case werr := <-writeErr:
				if !linkEnded(werr) {
					return fmt.Errorf("%s: writing link: %w", s.cfg.Name, werr)
				}
			default:
			}
			if ctx.Err() != nil || linkEnded(err) {
				return nil
			}
			return fmt.Errorf("%s: reading link: %w", s.cfg.Name, err)
		}
	}
}

func linkEnded(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}

// received handles one byte from the POS. Anything but ENQ is garbage,
// counted into the current burst; an ENQ ends the burst first, so the
// timeline shows the garbage before the probe.
func (s *Scanner) received(l *link, b byte) {
	if b != ENQ {
		s.noise.Add(fmt.Sprintf("0x%02X", b), 1)
		return
	}
	s.noise.Flush()
	s.mu.Lock()
	broken := s.broken
	s.mu.Unlock()
	if broken {
		s.emit(Event{Kind: EventProbe, Detail: "ENQ not answered: scanner broken"})
		return
	}
	// The event goes out before the ACK does, so that it comes before
	// whatever the POS does on reading the ACK, on every run.
	s.emit(Event{Kind: EventProbe, Detail: "ENQ answered ACK"})
	select {
	case l.out <- []byte{ACK}:
	default:
		s.emit(Event{Kind: EventProbe, Detail: "ACK dropped: output queue full"})
	}
}

// Attach serves rw in a goroutine the scanner owns; Close ends it.
func (s *Scanner) Attach(rw io.ReadWriteCloser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = rw.Close()
		return
	}
	s.wg.Go(func() {
		if err := s.Serve(s.ctx, rw); err != nil {
			s.log.Warn("link failed", "err", err)
		}
	})
}

// Close ends every link the scanner owns and waits for its goroutines.
func (s *Scanner) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.noise.Close()
	return nil
}

// Scan is the operator scanning code: the code and the suffix are queued to
// every served link. A broken scanner emits nothing, and Scan still returns
// nil: the cashier only sees that nothing happens. After Garble, the next
// scan emits corrupted bytes.
func (s *Scanner) Scan(code string) error {
	s.mu.Lock()
	if len(s.links) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("scanning %q: %w", code, ErrNotConnected)
	}
	if s.broken {
		s.mu.Unlock()
		s.emit(Event{Kind: EventDropped, Detail: fmt.Sprintf("scan of %q lost: scanner broken", code)})
		return nil
	}
	data := []byte(code)
	garbled := s.garble
	if garbled {
		data = corrupt(data)
		s.garble = false
	}
	data = append(data, s.cfg.Suffix...)
	full := 0
	for l := range s.links {
		select {
		case l.out <- data:
		default:
			full++
		}
	}
	s.mu.Unlock()
	if full > 0 {
		return fmt.Errorf("scanning %q: POS not reading, output queue full", code)
	}
	detail := fmt.Sprintf("scanned %q", code)
	if garbled {
		detail += " (garbled)"
	}
	s.emit(Event{Kind: EventScan, Detail: detail})
	return nil
}

// corrupt is a bad read: every other byte lost to 0xFF, which never appears
// in text (it is not valid UTF-8), so a driver can always tell.
func corrupt(b []byte) []byte {
	out := append([]byte(nil), b...)
	for i := 0; i < len(out); i += 2 {
		out[i] = 0xFF
	}
	return out
}

func (s *Scanner) setState(detail string, f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
	s.emit(Event{Kind: EventState, Detail: detail})
}

// Break makes the scanner dead: scans are lost and ENQ is not answered.
func (s *Scanner) Break() { s.setState("broken", func() { s.broken = true }) }

// Garble makes the next scan a bad read.
func (s *Scanner) Garble() { s.setState("next scan garbled", func() { s.garble = true }) }

// Fix clears Break and a pending Garble.
func (s *Scanner) Fix() { s.setState("fixed", func() { s.broken, s.garble = false, false }) }

// Broken reports whether Break is in effect.
func (s *Scanner) Broken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken
}

func (s *Scanner) emit(e Event) {
	e.Device = s.cfg.Name
	switch e.Kind {
	case EventUnknown, EventDropped:
		// A fixed message per kind, so the log's rate limit sees repeats.
		s.log.Warn("scanner "+e.Kind, "kind", e.Kind, "detail", e.Detail)
	case EventProbe:
		s.log.Debug(e.Detail, "kind", e.Kind)
	default:
		s.log.Info(e.Detail, "kind", e.Kind)
	}
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}
