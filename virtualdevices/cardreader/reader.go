package cardreader

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/possim/possim/card"
	"github.com/possim/possim/virtualdevices/serial"
)

// DeviceName is the Device field of the reader's events.
const DeviceName = "cardreader"

// Event is something observable that happened at the reader. Detail carries
// masked PANs only.
type Event struct {
	Device string
	Kind   string
	Detail string
}

// Config configures a virtual reader.
type Config struct {
	Cards []Card
	// IssuerMasterKey derives each card's EMV keys (double-length 3DES).
	IssuerMasterKey []byte
	Logger          *slog.Logger
	OnEvent         func(Event)
	// Rand draws unpredictable numbers when the terminal sends none.
	// Nil uses a fixed seed so runs stay reproducible.
	Rand *rand.Rand
	// Link tunes the frame codec; the zero value takes serial's defaults.
	Link serial.FrameConfig
}

// Reader is the virtual card reader. It serves the POS protocol on any
// number of byte links and is driven by the operator methods.
type Reader struct {
	cfg     Config
	log     *slog.Logger
	cards   map[string]*vcard
	aliases []string

	srv   *serial.CommandServer
	cable serial.Cable

	mu        sync.Mutex
	rng       *rand.Rand
	slot      *vcard        // chip card inserted
	presented *presentation // tap or swipe held for the next WAIT
	wait      *waitOp
	removals  []chan struct{}
	txn       *txn
	faults    struct{ chip, swipe, pull bool }
	fallback  bool // the last chip read failed: the next swipe is a fallback
	events    []Event
}

type presentation struct {
	card *vcard
	mode Modes
}

type waitOp struct {
	req   card.ICCRequest
	modes Modes
	done  chan serial.Message // result; Cmd "" means drop without answering
	sent  chan struct{}
}

// New checks the configuration and returns a reader with no card present.
func New(cfg Config) (*Reader, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
	}
	r := &Reader{cfg: cfg, log: cfg.Logger.With("device", DeviceName), cards: map[string]*vcard{}, rng: cfg.Rand}
	needKey := false
	for _, c := range cfg.Cards {
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("cardreader: %w", err)
		}
		if _, dup := r.cards[c.Alias]; dup || c.Alias == "" {
			return nil, fmt.Errorf("cardreader: card alias %q is empty or repeated", c.Alias)
		}
		r.cards[c.Alias] = &vcard{Card: c, atc: c.ATC}
		r.aliases = append(r.aliases, c.Alias)
		needKey = needKey || c.Chip || c.Contactless
	}
	if needKey {
		if _, err := card.KCV(cfg.IssuerMasterKey); err != nil {
			return nil, fmt.Errorf("cardreader: issuer master key: %w", err)
		}
	}
	slices.Sort(r.aliases)
	r.srv = serial.NewCommandServer(serial.CommandServerConfig{
		Frame: cfg.Link, Logger: r.log, Cable: &r.cable, Handle: r.handle,
	})
	return r, nil
}

// Aliases lists the cards the reader knows, sorted.
func (r *Reader) Aliases() []string { return slices.Clone(r.aliases) }

// Attach serves the protocol on port in the background until Close.
func (r *Reader) Attach(port io.ReadWriteCloser) { r.srv.Attach(port) }

// Close stops every link, closes the ports given to Attach and waits for
// all the reader's goroutines.
func (r *Reader) Close() error { return r.srv.Close() }

// Serve answers commands on port until ctx ends or the link fails, then
// closes the link (and port). A pending command is abandoned unanswered.
func (r *Reader) Serve(ctx context.Context, port io.ReadWriteCloser) error {
	if err := r.srv.Serve(ctx, port); err != nil {
		return fmt.Errorf("cardreader: %w", err)
	}
	return nil
}

// lookup returns the card for alias or an error naming the valid aliases.
func (r *Reader) lookup(alias string) (*vcard, error) {
	c, ok := r.cards[alias]
	if !ok {
		return nil, fmt.Errorf("cardreader: unknown card %q (known: %s)", alias, strings.Join(r.aliases, ", "))
	}
	return c, nil
}

// emit queues an event; unlock delivers queued events after releasing the
// lock, so an OnEvent callback may call back into the reader.
func (r *Reader) emit(kind, detail string) {
	r.events = append(r.events, Event{Device: DeviceName, Kind: kind, Detail: detail})
}

func (r *Reader) unlock() {
	ev := r.events
	r.events = nil
	r.mu.Unlock()
	if r.cfg.OnEvent == nil {
		return
	}
	for _, e := range ev {
		r.cfg.OnEvent(e)
	}
}

// Insert puts a chip card in the slot. A pending WAIT that accepts chip
// reads it at once; otherwise it is read by the next WAIT that does.
func (r *Reader) Insert(alias string) error {
	c, err := r.lookup(alias)
	if err != nil {
		return err
	}
	if !c.Chip {
		return fmt.Errorf("cardreader: card %q has no chip", alias)
	}
	r.mu.Lock()
	defer r.unlock()
	if r.slot != nil {
		return fmt.Errorf("cardreader: card %q is already inserted; remove it first", r.slot.Alias)
	}
	if r.wait != nil && r.wait.modes&ModeChip == 0 {
		return fmt.Errorf("cardreader: the terminal is not accepting chip now (wants %s)", r.wait.modes)
	}
	r.slot = c
	r.emit("insert", card.MaskPAN(c.PAN))
	if r.wait != nil {
		r.resolve(r.readLocked(c, ModeChip, r.wait.req))
	}
	return nil
}

// Tap presents a contactless card, to the pending WAIT or the next one.
func (r *Reader) Tap(alias string) error {
	return r.present(alias, ModeTap)
}

// Swipe swipes a card, for the pending WAIT or the next one. A chip card
// swiped reads with service code 2xx, which tells the terminal to ask for
// the chip instead.
func (r *Reader) Swipe(alias string) error {
	return r.present(alias, ModeSwipe)
}

func (r *Reader) present(alias string, mode Modes) error {
	c, err := r.lookup(alias)
	if err != nil {
		return err
	}
	if mode == ModeTap && !c.Contactless {
		return fmt.Errorf("cardreader: card %q is not contactless", alias)
	}
	if mode == ModeSwipe && !c.Magstripe {
		return fmt.Errorf("cardreader: card %q has no magnetic stripe", alias)
	}
	r.mu.Lock()
	defer r.unlock()
	r.emit(strings.ToLower(mode.String()), card.MaskPAN(c.PAN))
	if r.wait == nil {
		r.presented = &presentation{card: c, mode: mode}
		return nil
	}
	if r.wait.modes&mode == 0 {
		return fmt.Errorf("cardreader: the terminal is not accepting %s now (wants %s)", mode, r.wait.modes)
	}
	r.resolve(r.readLocked(c, mode, r.wait.req))
	return nil
}

// Remove takes the inserted card out. Before completion that is a card
// pulled early: the second GENERATE AC then fails.
func (r *Reader) Remove() {
	r.mu.Lock()
	defer r.unlock()
	if r.slot == nil {
		return
	}
	r.emit("remove", card.MaskPAN(r.slot.PAN))
	r.removeLocked()
}

func (r *Reader) removeLocked() {
	if t := r.txn; t != nil && t.entry == EntryChip && !t.done && t.card == r.slot {
		t.pulled = true
	}
	r.slot = nil
	for _, ch := range r.removals {
		close(ch)
	}
	r.removals = nil
}

// ChipError makes the next chip read fail, so the terminal falls back to
// the magnetic stripe.
func (r *Reader) ChipError() {
	r.mu.Lock()
	defer r.unlock()
	r.faults.chip = true
	r.emit("fault", "chip error armed")
}

// BadSwipe makes the next swipe unreadable.
func (r *Reader) BadSwipe() {
	r.mu.Lock()
	defer r.unlock()
	r.faults.swipe = true
	r.emit("fault", "bad swipe armed")
}

// PullEarly removes the chip card before completion: at once if a chip
// transaction is waiting for completion, otherwise right after the next
// chip read.
func (r *Reader) PullEarly() {
	r.mu.Lock()
	defer r.unlock()
	if t := r.txn; t != nil && t.entry == EntryChip && !t.done && r.slot == t.card {
		r.emit("pulled", card.MaskPAN(t.card.PAN))
		r.removeLocked()
		return
	}
	r.faults.pull = true
	r.emit("fault", "card pull armed")
}

// Unplug makes the reader stop answering, as if its cable were pulled:
// bytes either way are lost and a pending WAIT is dropped.
func (r *Reader) Unplug() {
	r.mu.Lock()
	defer r.unlock()
	r.cable.Unplug()
	if r.wait != nil {
		r.resolve(serial.Message{})
	}
	r.emit("unplug", "")
}

// Plug reconnects the reader.
func (r *Reader) Plug() {
	r.mu.Lock()
	defer r.unlock()
	r.cable.Plug()
	r.emit("plug", "")
}

// resolve answers the pending WAIT.
func (r *Reader) resolve(m serial.Message) {
	op := r.wait
	r.wait = nil
	op.done <- m
}

// readLocked reads card c presented in mode for the request.
func (r *Reader) readLocked(c *vcard, mode Modes, req card.ICCRequest) serial.Message {
	masked := card.MaskPAN(c.PAN)
	switch mode {
	case ModeSwipe:
		if r.faults.swipe {
			r.faults.swipe = false
			r.emit("bad-swipe", masked)
			return serial.Message{Cmd: cmdWait, Status: swBadSwipe}
		}
		entry := EntrySwipe
		if r.fallback {
			entry = EntryFallback
		}
		r.fallback = false
		r.txn = &txn{card: c, entry: entry}
		r.emit("read", string(entry)+" "+masked)
		return c.swipeRead(entry).message()
	case ModeChip:
		if r.faults.chip {
			r.faults.chip = false
			r.fallback = true
			r.slot = nil // the cashier takes the card out to swipe it
			r.emit("chip-error", masked)
			return serial.Message{Cmd: cmdWait, Status: swChipErr}
		}
	}
	entry := EntryChip
	if mode == ModeTap {
		entry = EntryTap
	}
	rd, t, err := c.chipRead(r.cfg.IssuerMasterKey, req, entry)
	if err != nil {
		r.log.Error("card cryptogram", "card", masked, "err", err)
		return serial.Message{Cmd: cmdWait, Status: swErr, Detail: "card error"}
	}
	r.fallback = false
	r.txn = t
	r.emit("read", string(entry)+" "+masked)
	if mode == ModeChip && r.faults.pull {
		r.faults.pull = false
		r.emit("pulled", masked)
		r.removeLocked()
	}
	return rd.message()
}
