package terminal

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/possim/possim/card"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
)

// Sale runs a sale: basket, payment method, card or QR code, PIN or
// signature, authorisation (0200) and receipts. It returns the transaction
// as logged, also when it was declined or reversed (with an error that says
// why: a *DeclineError, ErrNoResponse, ErrAmountMismatch, ErrLinkDown...).
func (t *Terminal) Sale(ctx context.Context, req SaleRequest) (*Txn, error) {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	defer t.ready()
	if err := t.prepare(ctx); err != nil {
		return nil, err
	}
	items, amount, err := t.basket(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.Method == QR {
		return t.qr(ctx, items, amount, req.PaymentCode)
	}
	x := &Txn{Kind: KindSale, Method: req.Method, Items: items, Requested: amount}
	if x.Method == "" {
		x.Method = Credit
	}
	modes, err := parseModes(req.Modes)
	if err != nil {
		return nil, err
	}
	rd, err := t.readCard(ctx, amount, 0x00, modes)
	if err != nil {
		return t.failed(x, err)
	}
	pin, err := t.cvm(ctx, x, rd, amount, req.Signature)
	if err != nil {
		return t.failed(x, err)
	}
	msg := t.financial(iso.MTIFinancialRequest, iso.ProcPurchase, x)
	t.withCard(&msg, x, rd, pin)
	x, err = t.authorise(ctx, x, msg, &rd, req.AcceptPartial)
	return t.pinReentry(ctx, req, x, err, rd)
}

// QR runs a QR payment: the customer's payment code (scanned, or given)
// travels in field 48 with entry mode 03x.
func (t *Terminal) QR(ctx context.Context, req SaleRequest) (*Txn, error) {
	req.Method = QR
	return t.Sale(ctx, req)
}

func (t *Terminal) qr(ctx context.Context, items []Item, amount int64, code string) (*Txn, error) {
	x := &Txn{Kind: KindQR, Method: QR, Items: items, Requested: amount, Entry: "qr", CVM: "none"}
	if code == "" {
		var err error
		if code, err = t.scanPaymentCode(ctx); err != nil {
			return t.failed(x, err)
		}
	}
	x.PaymentCode = card.MaskPaymentCode(code)
	x.EntryMode = iso.EntryQR + "2"
	msg := t.financial(iso.MTIFinancialRequest, iso.ProcQRPurchase, x)
	msg.EntryMode = x.EntryMode
	msg.AdditionalData = code
	return t.authorise(ctx, x, msg, nil, false)
}

func (t *Terminal) scanPaymentCode(ctx context.Context) (string, error) {
	if t.cfg.Scanner == nil {
		return "", fmt.Errorf("%w: no scanner for the payment code", ErrDevice)
	}
	t.setState(StateBasket)
	t.show("SCAN CUSTOMER PAYMENT CODE")
	for try := 0; try < 3; try++ {
		ctx, cancel := context.WithTimeout(ctx, t.cfg.CardTimeout)
		code, err := t.cfg.Scanner.ReadScan(ctx)
		cancel()
		switch {
		case err == nil && validPaymentCode(code):
			return code, nil
		case err == nil:
			t.show("NOT A PAYMENT CODE - SCAN AGAIN")
		case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
			return "", fmt.Errorf("%w: no payment code scanned", ErrCancelled)
		default:
			t.show("SCAN FAILED - SCAN AGAIN")
			t.deviceEvent("scanner: " + err.Error())
		}
	}
	return "", fmt.Errorf("%w: payment code not read", ErrDevice)
}

// validPaymentCode: Chinese wallet payment codes are 16 to 24 digits.
func validPaymentCode(c string) bool {
	if len(c) < 16 || len(c) > 24 {
		return false
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// prepare is what runs before every transaction: the terminal must be
// signed on, queued receipts go to the printer and pending reversals to
// the host (a transaction never starts while one is owed).
func (t *Terminal) prepare(ctx context.Context) error {
	if !t.data.SignedOn {
		t.setState(StateNotSignedOn)
		t.show("PLEASE SIGN ON")
		return ErrNotSignedOn
	}
	t.flush(ctx)
	if err := t.relink(ctx); err != nil {
		return err
	}
	if err := t.sendReversals(ctx, t.cfg.ReversalTries); err != nil {
		t.show("REVERSAL PENDING - CHECK LINE, TRY LATER")
		return err
	}
	return t.maintainKey(ctx)
}

// basket totals the items (scanned or keyed) or takes the keyed amount.
func (t *Terminal) basket(ctx context.Context, req SaleRequest) ([]Item, int64, error) {
	t.setState(StateBasket)
	var items []Item
	if req.Scan {
		scanned, err := t.scanItems(ctx, req.ScanCount)
		switch {
		case err == nil:
			items = scanned
		case len(req.Items) > 0 || req.Amount > 0:
			t.show("SCANNER FAULT - KEY ITEMS")
			t.alert("scanner failed, items keyed: " + err.Error())
		default:
			t.show("SCANNER FAULT - KEY ITEMS")
			return nil, 0, err
		}
	}
	if items == nil {
		for _, it := range req.Items {
			p, err := t.cfg.Profile.Product(firstNonEmpty(it.Code, it.Name))
			if err != nil {
				return nil, 0, fmt.Errorf("%w: %w", ErrBadRequest, err)
			}
			items = add(items, p.Barcode, p.Name, p.NameZH, int64(p.Price), max(it.Qty, 1))
		}
	}
	var total int64
	for _, it := range items {
		total += it.Total()
	}
	if len(items) == 0 {
		total = req.Amount
	}
	if total <= 0 || total > money.Max {
		return nil, 0, fmt.Errorf("%w: amount %s is not payable", ErrBadRequest, money.Format(total))
	}
	t.show("TOTAL " + t.cfg.Profile.Currency + " " + money.FormatGrouped(total))
	return items, total, nil
}

func add(items []Item, code, name, nameZH string, price int64, qty int) []Item {
	for i := range items {
		if items[i].Code == code {
			items[i].Qty += qty
			return items
		}
	}
	return append(items, Item{Code: code, Name: name, NameZH: nameZH, Qty: qty, Price: price})
}

// scanItems reads codes until n are read or the scanner is quiet for
// ScanIdle. An unknown code is shown and skipped; a garbled one asked again.
func (t *Terminal) scanItems(ctx context.Context, n int) ([]Item, error) {
	if t.cfg.Scanner == nil {
		return nil, fmt.Errorf("%w: no scanner", ErrDevice)
	}
	if err := t.cfg.Scanner.Probe(ctx); err != nil {
		return nil, fmt.Errorf("%w: scanner: %w", ErrDevice, err)
	}
	t.show("SCAN ITEMS")
	var items []Item
	count, failures := 0, 0
	for n == 0 || count < n {
		wait := t.cfg.ScanIdle
		if count == 0 || n > 0 {
			wait = t.cfg.CardTimeout
		}
		sctx, cancel := context.WithTimeout(ctx, wait)
		code, err := t.cfg.Scanner.ReadScan(sctx)
		timedOut := sctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if timedOut {
				if count == 0 {
					return nil, fmt.Errorf("%w: nothing scanned", ErrCancelled)
				}
				break
			}
			failures++
			t.deviceEvent("scanner: " + err.Error())
			if failures >= 3 {
				return nil, fmt.Errorf("%w: scanner: %w", ErrDevice, err)
			}
			t.show("SCAN AGAIN")
			continue
		}
		p, err := t.cfg.Profile.Product(strings.TrimSpace(code))
		if err != nil {
			t.show("UNKNOWN ITEM " + strings.TrimSpace(code))
			continue
		}
		items = add(items, p.Barcode, p.Name, p.NameZH, int64(p.Price), 1)
		count++
		t.show(fmt.Sprintf("%s %s", strings.ToUpper(p.Name), money.Format(int64(p.Price))))
	}
	return items, nil
}

func parseModes(names []string) (cardreader.Modes, error) {
	var m cardreader.Modes
	for _, n := range names {
		switch strings.ToLower(n) {
		case "chip", "insert":
			m |= cardreader.ModeChip
		case "tap", "contactless":
			m |= cardreader.ModeTap
		case "swipe", "magstripe":
			m |= cardreader.ModeSwipe
		case "":
		default:
			return 0, fmt.Errorf("%w: unknown card entry %q (want chip, tap or swipe)", ErrBadRequest, n)
		}
	}
	if m == 0 {
		m = cardreader.ModeAll
	}
	return m, nil
}

func prompt(m cardreader.Modes) string {
	var parts []string
	if m&cardreader.ModeChip != 0 {
		parts = append(parts, "INSERT")
	}
	if m&cardreader.ModeTap != 0 {
		parts = append(parts, "TAP")
	}
	if m&cardreader.ModeSwipe != 0 {
		parts = append(parts, "SWIPE")
	}
	switch len(parts) {
	case 1:
		return parts[0] + " CARD"
	case 2:
		return parts[0] + " OR " + parts[1] + " CARD"
	}
	return "INSERT, TAP OR SWIPE CARD"
}

// readCard waits for a card the way a real terminal does: a chip card
// swiped is asked to insert, a failed chip read falls back to the stripe,
// a bad swipe is asked again.
func (t *Terminal) readCard(ctx context.Context, amount int64, txnType byte, modes cardreader.Modes) (cardreader.Read, error) {
	if t.cfg.Reader == nil {
		return cardreader.Read{}, fmt.Errorf("%w: no card reader", ErrDevice)
	}
	t.setState(StateWaitCard)
	fallback := false
	allowed := modes
	for try := 0; try < 5; try++ {
		if try == 0 {
			t.show(fmt.Sprintf("%s %s  %s", t.cfg.Profile.Currency, money.FormatGrouped(amount), prompt(modes)))
		}
		un := t.unpredictable()
		rd, err := t.cfg.Reader.WaitCard(ctx, cardreader.Request{
			Amount:              amount,
			Modes:               modes,
			Date:                t.cfg.Now().Format("060102"),
			CurrencyCode:        t.cfg.Profile.CurrencyCode,
			CountryCode:         t.cfg.Profile.CountryCode,
			TxnType:             txnType,
			UnpredictableNumber: un,
			Timeout:             t.cfg.CardTimeout,
		})
		switch {
		case err == nil:
			t.noteATC(rd)
			if rd.Entry == cardreader.EntrySwipe && fallback {
				rd.Entry = cardreader.EntryFallback
			}
			if rd.Entry == cardreader.EntrySwipe && chipCard(rd.ServiceCode) && allowed&cardreader.ModeChip != 0 {
				t.show("CHIP CARD - PLEASE INSERT CARD")
				modes = cardreader.ModeChip
				continue
			}
			t.deviceEvent(fmt.Sprintf("card read: %s %s", rd.Entry, card.MaskPAN(rd.PAN)))
			return rd, nil
		case errors.Is(err, cardreader.ErrChipRead):
			t.show("CHIP READ ERROR - SWIPE CARD")
			t.deviceEvent("chip read failed: fallback to swipe")
			fallback = true
			modes = cardreader.ModeSwipe
		case errors.Is(err, cardreader.ErrBadSwipe):
			t.show("SWIPE ERROR - SWIPE AGAIN")
		case errors.Is(err, cardreader.ErrTimeout):
			t.show("NO CARD - TRANSACTION CANCELLED")
			return cardreader.Read{}, fmt.Errorf("%w: no card presented", ErrCancelled)
		case errors.Is(err, cardreader.ErrCardRemoved):
			t.show("CARD REMOVED - TRANSACTION CANCELLED")
			return cardreader.Read{}, fmt.Errorf("%w: card removed", ErrCancelled)
		case errors.Is(err, cardreader.ErrCancelled), ctx.Err() != nil:
			t.show("TRANSACTION CANCELLED")
			return cardreader.Read{}, fmt.Errorf("%w: card read: %w", ErrCancelled, err)
		default:
			t.show("CARD READER FAULT")
			return cardreader.Read{}, fmt.Errorf("%w: card reader: %w", ErrDevice, err)
		}
	}
	t.show("CARD NOT READ - TRANSACTION CANCELLED")
	return cardreader.Read{}, fmt.Errorf("%w: card not read after several tries", ErrCancelled)
}

// chipCard: service code 2xx or 6xx means the card has a chip to be used.
func chipCard(serviceCode string) bool {
	return serviceCode != "" && (serviceCode[0] == '2' || serviceCode[0] == '6')
}

// cvm takes the cardholder verification: no CVM for a small tap, the
// signature when asked, otherwise a PIN on the PIN pad.
func (t *Terminal) cvm(ctx context.Context, x *Txn, rd cardreader.Read, amount int64, signature bool) ([]byte, error) {
	switch {
	case rd.Entry == cardreader.EntryTap && amount <= t.cfg.NoCVMLimit:
		x.CVM = "none"
		return nil, nil
	case signature || t.cfg.PINPad == nil:
		x.CVM = "signature"
		return nil, nil
	}
	t.setState(StateWaitPIN)
	t.show("ENTER PIN ON PIN PAD")
	pin, err := t.cfg.PINPad.GetPIN(ctx, rd.PAN, amount, t.cfg.CardTimeout)
	if err != nil {
		if ctx.Err() != nil {
			t.show("TRANSACTION CANCELLED")
			return nil, fmt.Errorf("%w: PIN entry: %w", ErrCancelled, ctx.Err())
		}
		text, reason := pinError(err)
		t.show(text)
		if errors.Is(err, pinpad.ErrCancelled) || errors.Is(err, pinpad.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s: %w", ErrCancelled, reason, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrDevice, reason, err)
	}
	x.CVM = "pin"
	return pin, nil
}

// financial starts a financial message with the terminal's common fields
// and takes a STAN for the transaction.
func (t *Terminal) financial(mti, proc string, x *Txn) iso.Financial {
	now := t.cfg.Now()
	x.Time = now
	x.MTI = mti
	x.ProcCode = proc
	x.STAN = t.nextSTAN()
	x.F7 = t.transmissionTime(now)
	x.Batch = t.data.Batch
	x.Currency = t.cfg.Profile.Currency
	return iso.Financial{
		MTI:            mti,
		ProcessingCode: proc,
		Amount:         fmt.Sprintf("%012d", x.Requested),
		TransmissionDT: x.F7,
		STAN:           x.STAN,
		LocalTime:      now.Format("150405"),
		LocalDate:      now.Format("0102"),
		ConditionCode:  "00",
		TerminalID:     t.term.ID,
		MerchantID:     t.merchant.ID,
		Currency:       t.cfg.Profile.CurrencyCode,
		Reserved60:     fmt.Sprintf("%06d%s", t.data.Batch, t.cfg.Software),
	}
}

// withCard adds the card fields: PAN, expiry, entry mode, sequence, track
// for a stripe, ICC data for chip and tap, the PIN block.
func (t *Terminal) withCard(m *iso.Financial, x *Txn, rd cardreader.Read, pin []byte) {
	x.pan, x.expiry = rd.PAN, rd.Expiry
	x.MaskedPAN = card.MaskPAN(rd.PAN)
	x.Entry = string(rd.Entry)
	pinDigit := "2"
	if len(pin) > 0 {
		pinDigit = "1"
	}
	switch rd.Entry {
	case cardreader.EntryChip:
		x.EntryMode = iso.EntryChip + pinDigit
	case cardreader.EntryTap:
		x.EntryMode = iso.EntryContactless + pinDigit
	case cardreader.EntryFallback:
		x.EntryMode = iso.EntryFallback + pinDigit
	default:
		x.EntryMode = iso.EntrySwipe + pinDigit
	}
	m.PAN = rd.PAN
	m.Expiry = rd.Expiry
	m.EntryMode = x.EntryMode
	if rd.PANSeq != "" && (rd.Entry == cardreader.EntryChip || rd.Entry == cardreader.EntryTap) {
		x.PANSeq = fmt.Sprintf("%03s", rd.PANSeq)
		m.CardSeq = x.PANSeq
	}
	if rd.Track2 != "" {
		m.Track2 = strings.Trim(rd.Track2, ";?")
	}
	if len(rd.ICC) > 0 && (rd.Entry == cardreader.EntryChip || rd.Entry == cardreader.EntryTap) {
		m.ICC = rd.ICC
	}
	if len(pin) > 0 {
		m.PINBlock = pin
	}
}

// failed logs a transaction that ended before an answer, with no reversal
// due, and returns err.
func (t *Terminal) failed(x *Txn, err error) (*Txn, error) {
	x.Status = StatusFailed
	x.Reason = err.Error()
	if x.Time.IsZero() {
		x.Time = t.cfg.Now()
	}
	if x.STAN != "" {
		t.record(x)
	}
	return x, err
}

// record appends x to the log and saves the state.
func (t *Terminal) record(x *Txn) {
	const keep = 1000
	t.data.Log = append(t.data.Log, *x)
	if len(t.data.Log) > keep {
		t.data.Log = t.data.Log[len(t.data.Log)-keep:]
	}
	t.save()
}

// update replaces the logged copy of x.
func (t *Terminal) update(x *Txn) {
	for i := range t.data.Log {
		if t.data.Log[i].STAN == x.STAN && t.data.Log[i].Batch == x.Batch {
			t.data.Log[i] = *x
		}
	}
	t.save()
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

// unpredictable draws the terminal's unpredictable number (9F37) for one
// chip read. The card's cryptogram covers it, so a number that repeats
// lets a recorded cryptogram be replayed: it comes from crypto/rand unless
// the configuration gives a seeded source.
func (t *Terminal) unpredictable() [4]byte {
	var un [4]byte
	if t.cfg.Rand != nil {
		t.cfg.Rand.Read(un[:])
		return un
	}
	// crypto/rand.Read never returns an error (it crashes the program
	// instead when the system has no randomness).
	_, _ = crand.Read(un[:])
	return un
}
