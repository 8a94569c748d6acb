package possimtest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/simulators/terminal"
)

// Terminal is possim's virtual POS terminal, with its own in-memory card
// reader, PIN pad, printer and scanner (Devices).
type Terminal struct {
	term *terminal.Terminal
	dev  *Devices
}

// Sale is what a customer pays and how.
type Sale struct {
	Amount int64  // minor units: 1234 is 12.34
	Card   string // a card alias of the profile: visa-credit, mc-debit...
	// Entry is how the card is read: "chip" (the default), "tap" or "swipe".
	Entry string
	// PIN is typed on the PIN pad when the terminal asks for one; empty
	// for a card or amount that needs none.
	PIN string
	// Signature: the cardholder signs instead of entering a PIN.
	Signature bool
}

// Result is a transaction as the terminal logged it.
type Result struct {
	Kind      string // sale, void, refund
	STAN      string // field 11: Void and Refund take it
	Requested int64  // amount asked for
	Amount    int64  // amount approved (less on a partial approval)
	// Status is approved, declined, reversed (no answer, wrong amount...:
	// the terminal sent a reversal), voided or failed (no answer needed).
	Status       string
	ResponseCode string // field 39
	ResponseText string // what the terminal showed for it
	Reason       string // why declined, reversed or failed
	RRN          string
	AuthCode     string
	MaskedPAN    string
	Entry        string // chip, tap, swipe, fallback
	Settlement   string // D0 or T1, when the host said
}

// Approved says whether the host approved it and the terminal kept it.
func (r Result) Approved() bool { return r.Status == string(terminal.StatusApproved) }

// Settlement is the outcome of closing the batch.
type Settlement struct {
	Batch         int
	SalesCount    int64
	SalesAmount   int64
	RefundsCount  int64
	RefundsAmount int64
	ResponseCode  string // of the final 0510
	Balanced      bool   // the host agreed with the terminal's totals first time
	Uploaded      int    // transactions uploaded (0320) after the host said 95
	NextBatch     int
}

// NewTerminal starts a virtual terminal against the host at addr
// (HOST:PORT: a Host's Addr or any possim87 host), powers it on and signs
// it on, failing the test if it cannot. It is the profile's first terminal
// (TERM0001 in the default profile). It is closed when the test ends.
func NewTerminal(t testing.TB, addr string, opts ...Option) *Terminal {
	t.Helper()
	c := newConfig(opts)
	dir := t.TempDir()
	lab, err := harness.New(t.Context(), harness.Config{Profile: c.profile, Mode: harness.External,
		HostAddr: addr, Dir: dir, Seed: c.seed, Logger: c.logger})
	if err != nil {
		t.Fatalf("possimtest: terminal against %s: %v", addr, err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("possimtest: closing the terminal: %v", err)
		}
	})
	term := wrapTerminal(lab)
	term.start(t, c)
	return term
}

func wrapTerminal(lab *harness.Lab) *Terminal {
	return &Terminal{term: lab.Terminal, dev: &Devices{reader: lab.Reader, pinpad: lab.PINPad,
		printer: lab.Printer, scanner: lab.Scanner, paths: map[string]string{}}}
}

// start powers the terminal on and signs it on, as a merchant does in the
// morning.
func (t *Terminal) start(tb testing.TB, c config) {
	tb.Helper()
	st, err := t.term.PowerOn(tb.Context())
	if err != nil {
		tb.Fatalf("possimtest: terminal power-on: %v (checks failed: %+v)", err, st.Failed())
	}
	if c.noSignOn {
		return
	}
	if err := t.term.SignOn(tb.Context()); err != nil {
		tb.Fatalf("possimtest: terminal sign-on: %v", err)
	}
}

// ID is the terminal's ID (field 41); MerchantID its merchant's (field 42).
func (t *Terminal) ID() string { return t.term.ID() }

// MerchantID is the ID of the terminal's merchant.
func (t *Terminal) MerchantID() string { return t.term.MerchantID() }

// SignOn sends the 0800 sign-on and loads the session PIN key.
func (t *Terminal) SignOn(ctx context.Context) error { return t.term.SignOn(ctx) }

// Devices are the terminal's own devices: paper out, a card left in the
// slot, the receipts printed.
func (t *Terminal) Devices() *Devices { return t.dev }

// Printed are the receipts the terminal's printer has cut, oldest first.
func (t *Terminal) Printed() []Receipt { return t.dev.Printed() }

// Display is what the terminal shows now.
func (t *Terminal) Display() string { return t.term.Display() }

// Sale runs a sale of s.Amount: the card is presented, the PIN typed when
// asked, the 0200 sent and the receipts printed. It returns the
// transaction as logged, approved or not; a decline, a reversal or a
// failure is a Result with that Status, not an error. The error is for
// when there is no transaction: a bad request, a terminal not signed on,
// a card the profile does not have.
func (t *Terminal) Sale(ctx context.Context, s Sale) (Result, error) {
	if err := t.present(s.Card, s.Entry); err != nil {
		return Result{}, fmt.Errorf("sale: %w", err)
	}
	if s.PIN != "" {
		if err := t.dev.EnterPIN(s.PIN); err != nil {
			return Result{}, fmt.Errorf("sale: %w", err)
		}
	}
	x, err := t.term.Sale(ctx, terminal.SaleRequest{Amount: s.Amount, Signature: s.Signature})
	return outcome("sale", x, err)
}

// Void voids the sale with stan, from the terminal's log.
func (t *Terminal) Void(ctx context.Context, stan string) (Result, error) {
	x, err := t.term.Void(ctx, stan)
	return outcome("void", x, err)
}

// Refund refunds amount (0: all that is left) of the logged sale with
// origSTAN.
func (t *Terminal) Refund(ctx context.Context, origSTAN string, amount int64) (Result, error) {
	x, err := t.term.Refund(ctx, terminal.RefundRequest{OrigSTAN: origSTAN, Amount: amount})
	return outcome("refund", x, err)
}

// Settle closes the batch (0500; on a 95 the batch is uploaded and closed
// again). A batch the host still disagrees with comes back with its
// response code and ErrOutOfBalance.
func (t *Terminal) Settle(ctx context.Context) (Settlement, error) {
	r, err := t.term.Settle(ctx)
	s := Settlement{Batch: r.Batch, SalesCount: r.Totals.SalesCount, SalesAmount: r.Totals.SalesAmount,
		RefundsCount: r.Totals.RefundsCount, RefundsAmount: r.Totals.RefundsAmount, ResponseCode: r.ResponseCode,
		Balanced: r.Balanced, Uploaded: r.Uploaded, NextBatch: r.NextBatch}
	if err != nil {
		return s, fmt.Errorf("settle: %w", err)
	}
	return s, nil
}

// ErrOutOfBalance is Settle's error when the host does not agree with the
// batch even after the upload.
var ErrOutOfBalance = terminal.ErrOutOfBalance

func (t *Terminal) present(card, entry string) error {
	switch entry {
	case "", "chip":
		return t.dev.Insert(card)
	case "tap":
		t.dev.RemoveCard()
		return t.dev.Tap(card)
	case "swipe":
		t.dev.RemoveCard()
		return t.dev.Swipe(card)
	}
	return fmt.Errorf("card entry %q: valid: chip, tap, swipe", entry)
}

func outcome(what string, x *terminal.Txn, err error) (Result, error) {
	if x == nil {
		if err == nil {
			err = errors.New("the terminal returned no transaction")
		}
		return Result{}, fmt.Errorf("%s: %w", what, err)
	}
	return Result{Kind: string(x.Kind), STAN: x.STAN, Requested: x.Requested, Amount: x.Amount,
		Status: string(x.Status), ResponseCode: x.ResponseCode, ResponseText: x.ResponseText, Reason: x.Reason,
		RRN: x.RRN, AuthCode: x.AuthCode, MaskedPAN: x.MaskedPAN, Entry: x.Entry, Settlement: x.Settlement}, nil
}
