package terminal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"net"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// State is where the terminal's state machine is. It is reported in every
// Event, so a step can wait for "wait_card" before inserting a card.
type State string

// The terminal's states.
const (
	StateOff         State = "off"
	StateSelfTest    State = "self_test"
	StateNotSignedOn State = "not_signed_on"
	StateSigningOn   State = "signing_on"
	StateIdle        State = "idle"
	StateBasket      State = "basket"
	StateWaitCard    State = "wait_card"
	StateWaitPIN     State = "wait_pin"
	StateOnline      State = "online"
	StateReversal    State = "reversal"
	StatePrinting    State = "printing"
	StateSettling    State = "settling"
	StateBatchUpload State = "batch_upload"
	StateClosed      State = "closed"
)

// Event kinds.
const (
	EventState   = "state"
	EventDisplay = "display"
	EventISOOut  = "iso_out"
	EventISOIn   = "iso_in"
	EventAlert   = "alert"
	EventReceipt = "receipt"
	EventDevice  = "device"
)

// Event is one observable thing the terminal did or showed. Fields hold
// the ISO 8583 fields of an iso_out/iso_in event, masked: PAN as 6+4,
// tracks, PIN block, ICC data and key blocks never in clear.
type Event struct {
	Time   time.Time         `json:"time"`
	Kind   string            `json:"kind"`
	State  State             `json:"state"`
	Text   string            `json:"text,omitempty"`
	MTI    string            `json:"mti,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

// Errors callers branch on.
var (
	ErrNotSignedOn     = errors.New("terminal not signed on")
	ErrBusy            = errors.New("terminal busy")
	ErrClosed          = errors.New("terminal closed")
	ErrLinkDown        = errors.New("host link down")
	ErrNoResponse      = errors.New("no response from host")
	ErrReversalPending = errors.New("reversal pending: host must acknowledge it before the next transaction")
	ErrDeclined        = errors.New("declined")
	ErrAmountMismatch  = errors.New("amount mismatch")
	ErrCancelled       = errors.New("cancelled")
	ErrNotFound        = errors.New("transaction not found")
	ErrOutOfBalance    = errors.New("batch out of balance")
	ErrBadRequest      = errors.New("bad request")
	ErrDevice          = errors.New("device fault")
)

// Config configures a Terminal. Profile and Dial are required.
type Config struct {
	Profile *profile.Profile
	// TerminalID selects the terminal of the profile; "" means the first.
	TerminalID string
	// Dial opens the link to the host: net.Dial to an address when wired,
	// one end of an in-memory pipe when virtual.
	Dial func(ctx context.Context) (net.Conn, error)
	// Spec is the ISO 8583 spec; nil means iso.Spec87. Ignored when
	// Dialect is set.
	Spec *iso8583.MessageSpec
	// Dialect is the wire (spec and framing, TPDU included); nil means
	// possim87 framing around Spec.
	Dialect *iso.Dialect

	Printer Printer
	Reader  CardReader
	PINPad  PINPad
	Scanner Scanner // nil: keyed entry only

	// ResponseTimeout bounds the wait for each host answer (default 30s).
	ResponseTimeout time.Duration
	// CardTimeout bounds the wait for a card and for the PIN (default 60s).
	CardTimeout time.Duration
	// ScanIdle ends a scanned basket when no code arrives for this long
	// (default 3s), the way a cashier pauses before pressing total.
	ScanIdle time.Duration
	// ReversalTries is how many times a pending reversal is sent before a
	// transaction gives up (default 3: 0400, then 0401 twice).
	ReversalTries int
	// NoCVMLimit: a contactless sale up to this amount needs no PIN or
	// signature (default 1000.00, the Chinese quick-pass limit).
	NoCVMLimit int64
	// PrinterPoll, if set, checks a not-ready printer this often while
	// receipts are queued and prints them once it is ready.
	PrinterPoll time.Duration

	Now func() time.Time
	// Rand draws the unpredictable number (9F37) of each chip read. Nil
	// uses crypto/rand, so no two runs repeat it; give a seeded source only
	// where a lab must replay a run exactly.
	Rand    *rand.Rand
	Logger  *slog.Logger
	OnEvent func(Event)
	// Software is the version sent at sign-on (field 60); "" means the
	// profile terminal's.
	Software string
	// Store, if set, keeps STAN, batch, log, pending reversals and queued
	// receipts between runs (see FileStore).
	Store Store
	// Params are the terminal parameters at start (see SetParams).
	Params Params
}

// Terminal is a virtual POS terminal. Its operations are synchronous and
// run one at a time; an operation started while another runs waits for it
// (or for its ctx).
type Terminal struct {
	cfg      Config
	log      *slog.Logger
	spec     *iso8583.MessageSpec
	term     profile.Terminal
	merchant profile.Merchant

	op chan struct{} // held by the running operation

	mu      sync.Mutex // guards what the observers read
	state   State
	display string
	snap    Saved // a copy of data as of the last save

	params      Params    // see SetParams
	echoRunning bool      // keepAlive started
	lastTraffic time.Time // last message to or from the host
	wake        chan struct{}

	// Owned by the operation holding op.
	conn      *connection.Connection
	data      Saved
	keyLoaded bool
	linkDown  bool // the idle echo went unanswered: dial again first

	closeOnce sync.Once
	stop      chan struct{}
	ctx       context.Context // cancelled by Close, ends a running operation
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// New checks cfg and returns a powered-off terminal. It loads cfg.Store.
func New(cfg Config) (*Terminal, error) {
	if cfg.Profile == nil {
		return nil, fmt.Errorf("terminal: %w: no profile", ErrBadRequest)
	}
	if cfg.Dial == nil {
		return nil, fmt.Errorf("terminal: %w: no Dial", ErrBadRequest)
	}
	var term profile.Terminal
	switch {
	case cfg.TerminalID != "":
		t, ok := cfg.Profile.Terminal(cfg.TerminalID)
		if !ok {
			return nil, fmt.Errorf("terminal: %w: terminal %q is not in the profile", ErrBadRequest, cfg.TerminalID)
		}
		term = t
	case len(cfg.Profile.Terminals) > 0:
		term = cfg.Profile.Terminals[0]
	default:
		return nil, fmt.Errorf("terminal: %w: the profile has no terminal", ErrBadRequest)
	}
	merchant, ok := cfg.Profile.Merchant(term.Merchant)
	if !ok {
		return nil, fmt.Errorf("terminal: %w: merchant %q of terminal %s is not in the profile", ErrBadRequest, term.Merchant, term.ID)
	}
	if cfg.Dialect == nil {
		cfg.Dialect = iso.WithSpec(cfg.Spec)
	}
	cfg.Spec = cfg.Dialect.Spec
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 30 * time.Second
	}
	if cfg.CardTimeout <= 0 {
		cfg.CardTimeout = 60 * time.Second
	}
	if cfg.ScanIdle <= 0 {
		cfg.ScanIdle = 3 * time.Second
	}
	if cfg.ReversalTries <= 0 {
		cfg.ReversalTries = 3
	}
	if cfg.NoCVMLimit == 0 {
		cfg.NoCVMLimit = 100000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Software == "" {
		cfg.Software = term.Software
	}
	if err := cfg.Params.check(); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Terminal{
		cfg:      cfg,
		log:      log.With("terminal", term.ID),
		spec:     cfg.Spec,
		term:     term,
		merchant: merchant,
		op:       make(chan struct{}, 1),
		state:    StateOff,
		stop:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		params:   cfg.Params,
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.data = Saved{STAN: 0, Batch: 1}
	if cfg.Store != nil {
		s, err := cfg.Store.Load()
		if err != nil {
			return nil, fmt.Errorf("terminal: loading state: %w", err)
		}
		if s != nil {
			t.data = *s
			if t.data.Batch == 0 {
				t.data.Batch = 1
			}
			if err := t.unsealCards(); err != nil {
				return nil, fmt.Errorf("terminal: loading state: %w (start clean with a new state file, see docs/terminal.md)", err)
			}
		}
	}
	t.publish()
	if cfg.PrinterPoll > 0 {
		t.wg.Add(1)
		go t.pollPrinter()
	}
	if cfg.Params.EchoIdle > 0 {
		t.echoRunning = true
		t.wg.Add(1)
		go t.keepAlive()
	}
	return t, nil
}

// ID is the terminal ID (field 41).
func (t *Terminal) ID() string { return t.term.ID }

// MerchantID is the merchant ID (field 42).
func (t *Terminal) MerchantID() string { return t.merchant.ID }

// State is the current state.
func (t *Terminal) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// Display is the text on the terminal's screen.
func (t *Terminal) Display() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.display
}

// Close hangs up the host link and stops the terminal's goroutines. The
// device links belong to whoever made the drivers.
func (t *Terminal) Close() error {
	t.closeOnce.Do(func() {
		close(t.stop)
		t.cancel()
		t.wg.Wait()
		t.op <- struct{}{} // wait for a running operation
		t.hangUp()
		t.setState(StateClosed)
		<-t.op
	})
	return nil
}

// begin takes the operation slot and returns the operation's context,
// which Close cancels, and the function that ends the operation.
func (t *Terminal) begin(ctx context.Context) (context.Context, func(), error) {
	select {
	case <-t.stop:
		return nil, nil, ErrClosed
	default:
	}
	select {
	case t.op <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("waiting for the terminal: %w", ctx.Err())
	case <-t.stop:
		return nil, nil, ErrClosed
	}
	select {
	case <-t.stop:
		<-t.op
		return nil, nil, ErrClosed
	default:
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
		<-t.op
	}, nil
}

func (t *Terminal) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = t.cfg.Now()
	}
	if e.State == "" {
		e.State = t.State()
	}
	if t.cfg.OnEvent != nil {
		t.cfg.OnEvent(e)
	}
}

func (t *Terminal) setState(s State) {
	t.mu.Lock()
	changed := t.state != s
	t.state = s
	t.mu.Unlock()
	if changed {
		t.log.Debug("state", "state", s)
		t.emit(Event{Kind: EventState, State: s, Text: string(s)})
	}
}

// show puts text on the terminal's screen (and the PIN pad's, when it is
// one the cardholder reads).
func (t *Terminal) show(text string) {
	t.mu.Lock()
	t.display = text
	t.mu.Unlock()
	t.log.Info("display", "text", text)
	t.emit(Event{Kind: EventDisplay, Text: text})
}

func (t *Terminal) alert(text string) {
	t.log.Warn("alert", "text", text)
	t.emit(Event{Kind: EventAlert, Text: text})
}

func (t *Terminal) deviceEvent(text string) {
	t.emit(Event{Kind: EventDevice, Text: text})
}

// ready returns the idle state after an operation.
func (t *Terminal) ready() {
	if t.data.SignedOn {
		t.setState(StateIdle)
	} else {
		t.setState(StateNotSignedOn)
	}
}

// nextSTAN takes the next system trace audit number, 000001 to 999999.
func (t *Terminal) nextSTAN() string {
	t.data.STAN = t.data.STAN%999999 + 1
	return fmt.Sprintf("%06d", t.data.STAN)
}

// publish copies the state for observers (Log, Query, PendingReversals).
func (t *Terminal) publish() {
	snap := t.data
	snap.Log = append([]Txn(nil), t.data.Log...)
	snap.Reversals = append([]Reversal(nil), t.data.Reversals...)
	snap.Queued = append([]QueuedReceipt(nil), t.data.Queued...)
	snap.Cards = nil
	t.mu.Lock()
	t.snap = snap
	t.mu.Unlock()
}

// save publishes the state to observers and writes it to the Store.
func (t *Terminal) save() {
	t.publish()
	if t.cfg.Store == nil {
		return
	}
	err := t.sealCards()
	if err == nil {
		err = t.cfg.Store.Save(&t.data)
	}
	if err != nil {
		t.log.Error("saving state", "err", err)
		t.alert("STATE NOT SAVED: " + err.Error())
	}
}

// pollPrinter prints queued receipts once the printer is ready again.
func (t *Terminal) pollPrinter() {
	defer t.wg.Done()
	tick := time.NewTicker(t.cfg.PrinterPoll)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		select {
		case t.op <- struct{}{}:
		default:
			continue // busy: the next operation flushes anyway
		}
		if len(t.data.Queued) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), t.cfg.PrinterPoll)
			_ = t.flush(ctx)
			cancel()
		}
		<-t.op
	}
}
