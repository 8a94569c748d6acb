package acquirer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// Config is everything a Host needs. Profile and Ledger are required; the
// caller opens and closes the ledger.
type Config struct {
	Profile *profile.Profile
	Ledger  *ledger.Ledger
	Spec    *iso8583.MessageSpec // nil: iso.Spec87; ignored when Dialect is set
	// Dialect is the wire: spec and framing; nil: possim87 around Spec.
	Dialect *iso.Dialect
	Logger  *slog.Logger // nil: discard
	// Trace, when set, receives one JSON line per message in and out, card
	// data masked (see docs/host.md).
	Trace io.Writer
	// OnEvent, when set, is called for every message in and out, on the
	// handling goroutine; it must not block for long.
	OnEvent func(Event)
	Now     func() time.Time // nil: time.Now
	// Rand makes RRNs, authorisation codes and session keys; nil: seeded 1.
	Rand *rand.Rand
	// CardRefKey keys the HMAC that stands for a PAN in the ledger. It must
	// stay the same across restarts on one database, or card usage is lost;
	// nil: a fixed built-in key.
	CardRefKey []byte
	// MaxConns caps open connections; further ones are closed at once (0: no cap).
	MaxConns int
	// IdleTimeout closes a connection that sends nothing for this long (0: never).
	IdleTimeout time.Duration
	// ReadTimeout bounds the reading of one frame, length header
	// included, from its first byte (0: 30 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds the writing of one response; a peer that does not
	// read its responses for this long is disconnected (0: 10 s).
	WriteTimeout time.Duration
	// RequireSignOn declines (58) transactions from a terminal that has not
	// signed on. Off by default: a PIN from such a terminal is answered 96,
	// since the host has no key to read it with; everything else is served.
	RequireSignOn bool
	// Faults are installed at New.
	Faults []Fault
	// Playback, when set, answers requests a recording holds as they were
	// answered then (faults still come first); PlaybackMiss, when set, is
	// the code for requests it does not hold, else the rules answer them.
	Playback     Playback
	PlaybackMiss string
}

// Maintenance is the host's maintenance mode.
type Maintenance int32

const (
	MaintenanceOff     Maintenance = iota // serving
	MaintenanceRespond                    // every request answered 91
	MaintenanceRefuse                     // connections closed and new ones refused
)

func (m Maintenance) String() string {
	switch m {
	case MaintenanceRespond:
		return "respond91"
	case MaintenanceRefuse:
		return "refuse"
	}
	return "off"
}

// ParseMaintenance reads "off", "respond91" (or "91") and "refuse".
func ParseMaintenance(s string) (Maintenance, error) {
	switch s {
	case "off", "":
		return MaintenanceOff, nil
	case "respond91", "91", "respond":
		return MaintenanceRespond, nil
	case "refuse":
		return MaintenanceRefuse, nil
	}
	return 0, fmt.Errorf("maintenance mode %q: want off, respond91 or refuse", s)
}

// ErrClosed is returned by Serve, ServeConn and Start after Close.
var ErrClosed = errors.New("acquirer: host closed")

// ErrRefused is returned by ServeConn when the host takes no more connections
// (maintenance refuse mode or MaxConns reached); the connection is closed.
var ErrRefused = errors.New("acquirer: connection refused")

// Host is the mock acquirer host.
type Host struct {
	cfg      Config
	spec     *iso8583.MessageSpec
	log      *slog.Logger
	led      *ledger.Ledger
	now      func() time.Time
	faults   *Faults
	reader   *frameReader
	cur      atomic.Pointer[book] // profile and card book; swapped by ReloadProfile
	maint    atomic.Int32
	msgSeen  atomic.Int64
	warn     *rateLog   // warnings a flood can repeat, once per warnEvery
	serveErr chan error // the error that stopped a listener (Err)

	rngMu sync.Mutex
	rng   *rand.Rand

	mu        sync.Mutex
	closed    bool
	done      chan struct{}
	listeners map[net.Listener]*frameReader // each listener's dialect
	conns     map[*hostConn]struct{}
	sessions  map[string][]byte             // terminal ID -> session PIN key
	keyChange map[string]bool               // terminal IDs asked to change their PIN key (keychange.go)
	onEvent   atomic.Pointer[[]func(Event)] // copy-on-write: read on every message without a lock
	addr      string
	wg        sync.WaitGroup

	statsMu sync.Mutex
	stats   Stats

	traceMu  sync.Mutex
	handlers atomic.Int64 // handler goroutines started (readLoop)
}

// New builds a host from cfg and registers the profile's merchants in the
// ledger. A merchant already in the ledger keeps its real-time status (it
// is run-time state: an approval made through the API survives a restart);
// its name, settlement mode, limits and fees are refreshed from the profile.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Profile == nil {
		return nil, errors.New("acquirer: config has no profile")
	}
	if err := CheckProfile(cfg.Profile); err != nil {
		return nil, fmt.Errorf("acquirer: %w", err)
	}
	if cfg.Ledger == nil {
		return nil, errors.New("acquirer: config has no ledger")
	}
	h := &Host{
		cfg:       cfg,
		spec:      cfg.Spec,
		log:       cfg.Logger,
		led:       cfg.Ledger,
		now:       cfg.Now,
		rng:       cfg.Rand,
		done:      make(chan struct{}),
		listeners: map[net.Listener]*frameReader{},
		conns:     map[*hostConn]struct{}{},
		sessions:  map[string][]byte{},
		serveErr:  make(chan error, 1),
	}
	if h.spec == nil {
		h.spec = iso.Spec87
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.warn = newRateLog(h.log, warnEvery)
	if h.now == nil {
		h.now = time.Now
	}
	if h.rng == nil {
		h.rng = rand.New(rand.NewPCG(1, 1))
	}
	if h.cfg.ReadTimeout <= 0 {
		h.cfg.ReadTimeout = 30 * time.Second
	}
	if h.cfg.WriteTimeout <= 0 {
		h.cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.OnEvent != nil {
		h.onEvent.Store(&[]func(Event){cfg.OnEvent})
	}
	is, err := newIssuer(cfg.Profile, cfg.CardRefKey)
	if err != nil {
		return nil, err
	}
	h.cur.Store(&book{prof: cfg.Profile, iss: is, dialects: terminalDialects(cfg.Profile)})
	h.faults = &Faults{byPAN: func(alias string) string { return h.iss().panOfAlias(alias) }}
	for _, f := range cfg.Faults {
		if _, err := h.faults.Add(f); err != nil {
			return nil, fmt.Errorf("acquirer: %w", err)
		}
	}
	d := cfg.Dialect
	if d == nil {
		d = iso.WithSpec(h.spec)
	}
	h.spec = d.Spec
	h.reader = &frameReader{spec: h.spec, d: d}
	if err := h.registerMerchants(ctx, cfg.Profile); err != nil {
		return nil, err
	}
	return h, nil
}

// Start listens on addr (TCP, "127.0.0.1:0" for any port) and serves in the
// background until Close.
func (h *Host) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("acquirer: listening on %s: %w", addr, err)
	}
	return h.StartListener(ln)
}

// StartListener serves ln in the background until Close, as Start does;
// for a caller that listens before it opens the ledger, so a port already
// in use leaves nothing behind. A listener that fails for good is reported
// on Err.
func (h *Host) StartListener(ln net.Listener) error {
	return h.StartListenerDialect(ln, nil)
}

// StartListenerDialect is StartListener for a listener whose connections
// speak d (nil: the host's dialect, Config.Dialect). One host can so serve
// terminals of several dialects, each on its own listener; the ledger,
// cards and faults are shared.
func (h *Host) StartListenerDialect(ln net.Listener, d *iso.Dialect) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	if h.addr == "" {
		h.addr = ln.Addr().String()
	}
	h.mu.Unlock()
	fr := h.readerFor(d)
	h.log.Info("host listening", "addr", ln.Addr().String(), "dialect", fr.dialect().Name)
	h.goTracked(func() { h.serve(ln, fr) })
	return nil
}

// readerFor is the frame reader of dialect d; nil is the host's own.
func (h *Host) readerFor(d *iso.Dialect) *frameReader {
	if d == nil || d == h.reader.d {
		return h.reader
	}
	return &frameReader{spec: d.Spec, d: d}
}

// Dialect is the host's default wire, the one Start, StartListener, Serve
// and ServeConn speak.
func (h *Host) Dialect() *iso.Dialect { return h.reader.dialect() }

// Addr is the address of the first listener Start or StartListener
// started; the others are their caller's to know.
func (h *Host) Addr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}

// goTracked runs f on a goroutine Close waits for; it does nothing after Close.
func (h *Host) goTracked(f func()) bool {
	if !h.enter() {
		return false
	}
	go func() {
		defer h.wg.Done()
		f()
	}()
	return true
}

// enter counts one more goroutine Close must wait for, unless closed.
func (h *Host) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// Serve accepts connections on ln until ln fails or the host closes; it
// returns nil after Close. Any listener works, including in-memory ones.
func (h *Host) Serve(ln net.Listener) error { return h.serve(ln, h.reader) }

// serve is Serve in the dialect of fr.
func (h *Host) serve(ln net.Listener, fr *frameReader) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	h.listeners[ln] = fr
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.listeners, ln)
		h.mu.Unlock()
		ln.Close()
	}()
	var bo acceptBackoff
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-h.done:
				return nil
			default:
			}
			if temporaryAccept(err) {
				if !bo.wait(h, err) {
					return nil
				}
				continue
			}
			h.log.Error("accept failed: no longer listening", "addr", ln.Addr().String(), "err", err)
			err = fmt.Errorf("acquirer: accepting on %s: %w", ln.Addr(), err)
			h.serveFailed(err)
			return err
		}
		bo.recovered(h)
		if err := h.serveConn(c, fr); err != nil && !errors.Is(err, ErrClosed) {
			h.warn.Warn("refused", "connection refused", "remote", remoteOf(c), "err", err)
		}
	}
}

// ServeConn serves one connection (a TCP connection, one end of net.Pipe) in
// the background until it closes or the host closes, and returns at once.
func (h *Host) ServeConn(nc net.Conn) error { return h.serveConn(nc, h.reader) }

// serveConn is ServeConn in the dialect of fr.
func (h *Host) serveConn(nc net.Conn, fr *frameReader) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		nc.Close()
		return ErrClosed
	case Maintenance(h.maint.Load()) == MaintenanceRefuse:
		resetConn(nc)
		return fmt.Errorf("%w: maintenance", ErrRefused)
	case h.cfg.MaxConns > 0 && len(h.conns) >= h.cfg.MaxConns:
		resetConn(nc)
		return fmt.Errorf("%w: %d connections open (MaxConns)", ErrRefused, len(h.conns))
	}
	hc := h.newConn(nc, fr)
	h.conns[hc] = struct{}{}
	h.bumpConns(1)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		hc.readLoop()
		h.mu.Lock()
		delete(h.conns, hc)
		h.mu.Unlock()
		h.bumpConns(-1)
		h.log.Debug("connection closed", "remote", hc.remote)
	}()
	h.log.Debug("connection opened", "remote", hc.remote)
	return nil
}

// resetConn closes c, with a TCP RST where it can, so the peer sees the
// connection refused rather than an orderly end.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// Close stops listening, closes every connection, and waits for every
// goroutine the host started. Requests being journaled finish first; their
// answers may be lost, as in a real host crash. The ledger stays open.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.done)
	for ln := range h.listeners {
		ln.Close()
	}
	for hc := range h.conns {
		hc.close()
	}
	h.mu.Unlock()
	h.wg.Wait()
	h.warn.Flush()
	return nil
}

// Done is closed when Close starts.
func (h *Host) Done() <-chan struct{} { return h.done }

// Faults is the host's fault table.
func (h *Host) Faults() *Faults { return h.faults }

// Ledger is the host's journal.
func (h *Host) Ledger() *ledger.Ledger { return h.led }

// Profile is the profile the host was built from.
func (h *Host) Profile() *profile.Profile { return h.prof() }

// SetMaintenance switches maintenance mode. Entering refuse closes every
// open connection.
func (h *Host) SetMaintenance(m Maintenance) {
	h.maint.Store(int32(m))
	h.log.Info("maintenance", "mode", m.String())
	if m != MaintenanceRefuse {
		return
	}
	h.mu.Lock()
	conns := make([]*hostConn, 0, len(h.conns))
	for hc := range h.conns {
		conns = append(conns, hc)
	}
	h.mu.Unlock()
	for _, hc := range conns {
		hc.reset()
	}
}

// MaintenanceMode is the current maintenance mode.
func (h *Host) MaintenanceMode() Maintenance { return Maintenance(h.maint.Load()) }

// SetCardStatus changes a card's status: active, lost (41), stolen (43),
// expired (54), restricted (57) or blocked (05); pin_blocked spends its PIN
// tries (75 on the next PIN) until ResetPINTries.
func (h *Host) SetCardStatus(alias, status string) error {
	if err := h.iss().setStatus(alias, status); err != nil || status != statusPINBlocked {
		return err
	}
	return h.sharePIN(alias)
}

// ResetPINTries clears a card's wrong-PIN counter, unblocking it after 75.
func (h *Host) ResetPINTries(alias string) error {
	if err := h.iss().resetPIN(alias); err != nil {
		return err
	}
	return h.sharePIN(alias)
}

// SetMerchantRealtime records the outcome of a merchant's real-time
// settlement application (none, pending, approved, rejected).
func (h *Host) SetMerchantRealtime(ctx context.Context, mid string, st ledger.RealtimeStatus) error {
	if _, ok := h.prof().Merchant(mid); !ok {
		return fmt.Errorf("acquirer: unknown merchant %q", mid)
	}
	return h.led.SetRealtime(ctx, mid, st)
}

// SignedOn reports whether the terminal holds a session PIN key.
func (h *Host) SignedOn(tid string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.sessions[tid]
	return ok
}

// SessionKey returns the terminal's clear session PIN key, for tests that
// play the PIN pad; nil if the terminal has not signed on.
func (h *Host) SessionKey(tid string) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]byte(nil), h.sessions[tid]...)
}

// OnEvent adds a listener for every message in and out.
func (h *Host) OnEvent(f func(Event)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var fs []func(Event)
	if old := h.onEvent.Load(); old != nil {
		fs = append(fs, *old...)
	}
	fs = append(fs, f)
	h.onEvent.Store(&fs)
}

// Stats are the host's counters since New.
type Stats struct {
	In        map[string]int64 // requests by MTI
	Out       map[string]int64 // responses by MTI
	Codes     map[string]int64 // responses by field 39
	Malformed int64            // frames answered 30 for not unpacking
	Closed    int64            // connections closed for unreadable frames
	Conns     int              // open connections
	Accepted  int64            // connections served since New
	// AcceptErrors counts failed accepts the host backed off from and
	// retried (out of file descriptors, for one).
	AcceptErrors int64
}

// Stats returns a copy of the counters.
func (h *Host) Stats() Stats {
	h.statsMu.Lock()
	defer h.statsMu.Unlock()
	s := h.stats
	s.In, s.Out, s.Codes = clone(h.stats.In), clone(h.stats.Out), clone(h.stats.Codes)
	return s
}

func clone(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (h *Host) bumpConns(d int) {
	h.statsMu.Lock()
	h.stats.Conns += d
	if d > 0 {
		h.stats.Accepted++
	}
	h.statsMu.Unlock()
}

func (h *Host) countIn(mti string) {
	h.statsMu.Lock()
	if h.stats.In == nil {
		h.stats.In = map[string]int64{}
	}
	h.stats.In[mti]++
	h.statsMu.Unlock()
}

func (h *Host) countOut(mti, code string) {
	h.statsMu.Lock()
	if h.stats.Out == nil {
		h.stats.Out, h.stats.Codes = map[string]int64{}, map[string]int64{}
	}
	h.stats.Out[mti]++
	if code != "" {
		h.stats.Codes[code]++
	}
	h.statsMu.Unlock()
}

func (h *Host) countBad(closed bool) {
	h.statsMu.Lock()
	if closed {
		h.stats.Closed++
	} else {
		h.stats.Malformed++
	}
	h.statsMu.Unlock()
}

// hostConn is one served connection.
type hostConn struct {
	h         *Host
	raw       net.Conn
	rd        *connReader
	remote    string
	done      chan struct{} // closed by close
	closeOnce sync.Once
	wlock     chan struct{} // one writer at a time; a channel, so waiting is durable in synctest
	slots     chan struct{} // messages being handled (maxInFlight)
	work      chan job      // a message for an idle handler (readLoop, handle)
	idle      atomic.Int32  // handlers waiting on work
	wmu       sync.Mutex    // guards wq and spare
	wq        *wbatch       // answers waiting for the next write (see write)
	spare     []byte        // a written batch's buffer, reused by the next one
}

func (hc *hostConn) reset() {
	if tc, ok := hc.raw.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	hc.close()
}
