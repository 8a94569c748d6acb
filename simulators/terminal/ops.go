package terminal

import (
	"context"
	"fmt"

	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/virtualdevices/cardreader"
)

// RefundRequest refunds a logged transaction (OrigSTAN; Amount 0 means
// what is left of it) or, without OrigSTAN, Amount to a card read now.
type RefundRequest struct {
	OrigSTAN string
	Amount   int64
	Method   Method
}

// PreAuthRequest reserves Amount on a card (0100).
type PreAuthRequest struct {
	Amount    int64
	Method    Method
	Signature bool
	Modes     []string
}

// CompletionRequest completes a pre-authorisation (0220) for Amount (0
// means the authorised amount); it enters the batch as a sale.
type CompletionRequest struct {
	OrigSTAN string
	Amount   int64
}

// Log returns the terminal's transaction log, oldest first.
func (t *Terminal) Log() []Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Txn(nil), t.snap.Log...)
}

// Query finds a logged transaction by STAN (the latest with that STAN).
func (t *Terminal) Query(stan string) (Txn, bool) {
	stan = fmt.Sprintf("%06s", stan)
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.snap.Log) - 1; i >= 0; i-- {
		if t.snap.Log[i].STAN == stan {
			return t.snap.Log[i], true
		}
	}
	return Txn{}, false
}

// Batch is the open batch number.
func (t *Terminal) Batch() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap.Batch
}

// SignedOn reports whether the terminal may trade.
func (t *Terminal) SignedOn() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap.SignedOn
}

// original finds an approved transaction of the open batch by STAN.
func (t *Terminal) original(stan string, kinds ...Kind) (*Txn, error) {
	stan = fmt.Sprintf("%06s", stan)
	for i := len(t.data.Log) - 1; i >= 0; i-- {
		x := &t.data.Log[i]
		if x.STAN != stan {
			continue
		}
		ok := false
		for _, k := range kinds {
			ok = ok || x.Kind == k
		}
		if !ok {
			return nil, fmt.Errorf("%w: STAN %s is a %s", ErrNotFound, stan, x.Kind)
		}
		if x.Status != StatusApproved {
			return nil, fmt.Errorf("%w: STAN %s is %s", ErrNotFound, stan, x.Status)
		}
		return x, nil
	}
	return nil, fmt.Errorf("%w: no transaction with STAN %s", ErrNotFound, stan)
}

// referenced builds a request that refers to orig: its card, its RRN and
// auth code, and its original data elements (field 90).
func (t *Terminal) referenced(mti, proc string, x, orig *Txn) iso.Financial {
	x.pan, x.expiry, x.MaskedPAN = orig.pan, orig.expiry, orig.MaskedPAN
	x.Method, x.PaymentCode = orig.Method, orig.PaymentCode
	x.OrigSTAN = orig.STAN
	x.Entry = "manual"
	x.EntryMode = iso.EntryManual + "2"
	x.CVM = "none"
	m := t.financial(mti, proc, x)
	m.PAN = orig.pan
	m.Expiry = orig.expiry
	m.EntryMode = x.EntryMode
	m.RRN = orig.RRN
	m.AuthCode = orig.AuthCode
	m.OriginalData = iso.OriginalData(orig.MTI, orig.STAN, orig.F7)
	return m
}

// Void cancels an approved sale, QR sale or completion of the open batch
// (0200, 3=020000, for the full amount).
func (t *Terminal) Void(ctx context.Context, stan string) (*Txn, error) {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	defer t.ready()
	if err := t.prepare(ctx); err != nil {
		return nil, err
	}
	orig, err := t.original(stan, KindSale, KindQR, KindCompletion)
	if err != nil {
		t.show("ORIGINAL NOT FOUND")
		return nil, err
	}
	if orig.Batch != t.data.Batch {
		t.show("ORIGINAL NOT IN THIS BATCH - USE REFUND")
		return nil, fmt.Errorf("%w: STAN %s is in batch %d, settled; refund it instead", ErrNotFound, orig.STAN, orig.Batch)
	}
	if orig.Refunded > 0 {
		t.show("ALREADY REFUNDED - CANNOT VOID")
		return nil, fmt.Errorf("%w: STAN %s has refunds", ErrBadRequest, orig.STAN)
	}
	x := &Txn{Kind: KindVoid, Requested: orig.Amount, Items: orig.Items}
	t.show("VOID " + money.FormatGrouped(orig.Amount) + " STAN " + orig.STAN)
	msg := t.referenced(iso.MTIFinancialRequest, iso.ProcVoid, x, orig)
	origSTAN := orig.STAN
	got, err := t.authorise(ctx, x, msg, nil, false)
	if err == nil {
		if o, _ := t.original(origSTAN, KindSale, KindQR, KindCompletion); o != nil {
			o.Voided = true
			o.Status = StatusVoided
			t.save()
		}
	}
	return got, err
}

// Refund returns money to the card of a logged transaction, or to a card
// read now when no original is given (0200, 3=200000).
func (t *Terminal) Refund(ctx context.Context, req RefundRequest) (*Txn, error) {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	defer t.ready()
	if err := t.prepare(ctx); err != nil {
		return nil, err
	}
	x := &Txn{Kind: KindRefund, Requested: req.Amount, Method: req.Method}
	if req.OrigSTAN == "" {
		if req.Amount <= 0 {
			return nil, fmt.Errorf("%w: a refund without an original needs an amount", ErrBadRequest)
		}
		if x.Method == "" {
			x.Method = Credit
		}
		rd, err := t.readCard(ctx, req.Amount, 0x20, cardreader.ModeAll)
		if err != nil {
			return t.failed(x, err)
		}
		x.CVM = "signature"
		msg := t.financial(iso.MTIFinancialRequest, iso.ProcRefund, x)
		t.withCard(&msg, x, rd, nil)
		return t.authorise(ctx, x, msg, nil, false)
	}
	orig, err := t.original(req.OrigSTAN, KindSale, KindQR, KindCompletion)
	if err != nil {
		t.show("ORIGINAL NOT FOUND")
		return nil, err
	}
	left := orig.Amount - orig.Refunded
	if x.Requested == 0 {
		x.Requested = left
	}
	if x.Requested <= 0 || x.Requested > left {
		t.show("REFUND AMOUNT TOO HIGH")
		return nil, fmt.Errorf("%w: refund of %s, only %s left of STAN %s", ErrBadRequest,
			money.Format(x.Requested), money.Format(left), orig.STAN)
	}
	x.Items = nil
	t.show("REFUND " + money.FormatGrouped(x.Requested) + " OF STAN " + orig.STAN)
	msg := t.referenced(iso.MTIFinancialRequest, iso.ProcRefund, x, orig)
	if orig.Kind == KindQR {
		msg.EntryMode = iso.EntryQR + "2"
	}
	origSTAN := orig.STAN
	got, err := t.authorise(ctx, x, msg, nil, false)
	if err == nil {
		if o, _ := t.original(origSTAN, KindSale, KindQR, KindCompletion); o != nil {
			o.Refunded += got.Amount
			t.save()
		}
	}
	return got, err
}

// PreAuth reserves an amount on a card (0100, 3=030000).
func (t *Terminal) PreAuth(ctx context.Context, req PreAuthRequest) (*Txn, error) {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	defer t.ready()
	if err := t.prepare(ctx); err != nil {
		return nil, err
	}
	if req.Amount <= 0 || req.Amount > money.Max {
		return nil, fmt.Errorf("%w: pre-authorisation amount %s", ErrBadRequest, money.Format(req.Amount))
	}
	x := &Txn{Kind: KindPreAuth, Method: req.Method, Requested: req.Amount}
	if x.Method == "" {
		x.Method = Credit
	}
	modes, err := parseModes(req.Modes)
	if err != nil {
		return nil, err
	}
	rd, err := t.readCard(ctx, req.Amount, 0x00, modes)
	if err != nil {
		return t.failed(x, err)
	}
	pin, err := t.cvm(ctx, x, rd, req.Amount, req.Signature)
	if err != nil {
		return t.failed(x, err)
	}
	msg := t.financial(iso.MTIAuthRequest, iso.ProcPreAuth, x)
	t.withCard(&msg, x, rd, pin)
	return t.authorise(ctx, x, msg, &rd, false)
}

// Completion completes a pre-authorisation of the log (0220, 3=000000,
// 25=06, the authorisation code in 38).
func (t *Terminal) Completion(ctx context.Context, req CompletionRequest) (*Txn, error) {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	defer t.ready()
	if err := t.prepare(ctx); err != nil {
		return nil, err
	}
	orig, err := t.original(req.OrigSTAN, KindPreAuth)
	if err != nil {
		t.show("PRE-AUTH NOT FOUND")
		return nil, err
	}
	if orig.Completed {
		t.show("PRE-AUTH ALREADY COMPLETED")
		return nil, fmt.Errorf("%w: pre-authorisation STAN %s was already completed", ErrBadRequest, orig.STAN)
	}
	x := &Txn{Kind: KindCompletion, Requested: req.Amount}
	if x.Requested == 0 {
		x.Requested = orig.Amount
	}
	if x.Requested <= 0 || x.Requested > orig.Amount {
		t.show("AMOUNT ABOVE PRE-AUTH")
		return nil, fmt.Errorf("%w: completion of %s above the pre-authorised %s", ErrBadRequest,
			money.Format(x.Requested), money.Format(orig.Amount))
	}
	t.show("COMPLETION " + money.FormatGrouped(x.Requested) + " OF STAN " + orig.STAN)
	msg := t.referenced(iso.MTIAdvice, iso.ProcPurchase, x, orig)
	msg.ConditionCode = "06"
	// The completion goes under the pre-authorisation's references unless
	// the host's answer gives it its own (37, 38).
	x.AuthCode, x.RRN = orig.AuthCode, orig.RRN
	origSTAN := orig.STAN
	got, err := t.authorise(ctx, x, msg, nil, false)
	if err == nil {
		if o, _ := t.original(origSTAN, KindPreAuth); o != nil {
			o.Completed = true
			t.save()
		}
	}
	return got, err
}
