package acquirer

import (
	"cmp"
	"context"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/card"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// kindOf names what a 0100/0200 asks for from its processing code (and, for
// a purchase, the entry mode: 03x is a QR payment). "" is unsupported (12).
func kindOf(r *req) ledger.Kind {
	if len(r.proc) != 6 {
		return ""
	}
	if r.mti == iso.MTIAuthRequest {
		if r.proc[:2] == "03" || r.proc[:2] == "00" {
			return ledger.KindPreauth
		}
		return ""
	}
	switch r.proc[:2] {
	case "00":
		if strings.HasPrefix(r.entry, iso.EntryQR) {
			return ledger.KindQR
		}
		return ledger.KindSale
	case "02":
		return ledger.KindVoid
	case "20":
		return ledger.KindRefund
	case "31":
		return ledger.KindBalance
	}
	return ""
}

// entry starts the journal entry for r.
func (h *Host) entry(r *req, kind ledger.Kind, code string) ledger.Entry {
	e := ledger.Entry{Key: r.key, MTI: r.mti, ProcCode: r.proc, Kind: kind, MerchantID: r.mid,
		Method: "card", Amount: r.amount, Currency: r.currency, RespCode: code, Batch: r.batch(), Time: r.now}
	if kind == ledger.KindQR {
		e.Method = "qr"
	}
	return e
}

// record journals e and turns the outcome into the code to answer: 96 when
// the ledger fails (never approve what is not durable), 94 for a duplicate
// request.
func (h *Host) record(ctx context.Context, e ledger.Entry) (ledger.Result, string) {
	res, err := h.led.Record(ctx, e)
	if err != nil {
		h.warn.Error("journal", "journal failed", "key", e.Key.String(), "err", err)
		return res, iso.RCSystemError
	}
	if res.Duplicate {
		return res, iso.RCDuplicate
	}
	return res, e.RespCode
}

// financial handles 0100 and 0200: sale, QR payment, pre-authorisation,
// balance inquiry, refund and void.
func (h *Host) financial(ctx context.Context, r *req, p *Fault) *iso8583.Message {
	kind := kindOf(r)
	if !r.has(3, 11, 41, 42) || len(r.stan) != 6 || (kind != ledger.KindBalance && !r.amountOK) || r.pan == "?" {
		return h.response(r, iso.RCFormatError)
	}
	if kind == "" {
		return h.response(r, iso.RCInvalidTransaction)
	}
	// A void, and a refund by reference (field 90), may name the original
	// instead of the card: a QR payment code is single-use, so a QR refund
	// can only go back by reference.
	byRef := kind == ledger.KindVoid || (kind == ledger.KindRefund && r.f90 != "")
	if r.pan == "" && kind != ledger.KindQR && !byRef {
		return h.response(r, iso.RCFormatError)
	}
	if code := h.checkTerminal(r, true); code != "" {
		e := h.entry(r, kind, code)
		e.PANMasked = card.MaskPAN(r.pan)
		_, code = h.record(ctx, e)
		return h.response(r, code)
	}
	switch kind {
	case ledger.KindVoid:
		return h.void(ctx, r, p)
	case ledger.KindRefund:
		return h.refund(ctx, r, p)
	}
	return h.authorise(ctx, r, kind, p)
}

// authorise decides a sale, QR payment, pre-authorisation or balance
// inquiry with the issuer rules, journals it and answers.
func (h *Host) authorise(ctx context.Context, r *req, kind ledger.Kind, p *Fault) *iso8583.Message {
	var a *account
	pan := r.pan
	if kind == ledger.KindQR {
		pan = strings.TrimSpace(r.f48)
		a = h.iss().wallets[pan]
	} else if card.Luhn(pan) {
		a = h.iss().byPAN[pan]
	}
	e := h.entry(r, kind, "")
	e.PANMasked = card.MaskPAN(pan)
	if kind == ledger.KindQR {
		e.PANMasked = card.MaskPaymentCode(pan)
	}
	if a == nil {
		e.RespCode = iso.RCInvalidCard
		_, code := h.record(ctx, e)
		return h.response(r, code)
	}
	e.CardRef = a.ref
	if kind == ledger.KindBalance {
		e.Amount = 0
	}
	debit := kind == ledger.KindSale || kind == ledger.KindQR
	c := cardCheck{pan: pan, expiry: r.expiry, amount: r.amount, debit: debit || kind == ledger.KindPreauth,
		balance: kind == ledger.KindBalance, now: r.now, imk: h.prof().Keys.IMK()}
	if kind != ledger.KindQR {
		c.pinBlock, _ = r.m.GetBytes(52)
		c.icc, _ = r.m.GetBytes(55)
		if len(c.pinBlock) > 0 {
			h.mu.Lock()
			c.pinKey = h.sessions[r.tid]
			h.mu.Unlock()
		}
	}
	partial := p != nil && p.Action == ActPartial
	a.acquire()
	d, err := a.authorise(ctx, h.led, &c)
	h.noteDecision(r, a, d)
	if err != nil {
		a.release()
		h.log.Error("reading card usage", "card", a.masked, "err", err)
		e.RespCode = iso.RCSystemError
		_, code := h.record(ctx, e)
		return h.response(r, code)
	}
	if code, ok := forced(p); ok {
		d.code = code
		a.stale = true // the journal may now hold what the rules would not have approved
	}
	if partial && d.code == iso.RCApproved {
		e.Amount = p.Amount
		if e.Amount <= 0 || e.Amount >= r.amount {
			e.Amount = r.amount / 2
		}
	}
	held := d.code == iso.RCApproved && debit
	if held {
		a.reserve(e.Amount)
	}
	balance := a.available()
	a.release()

	e.RespCode = d.code
	if d.code == iso.RCApproved {
		e.RRN, e.AuthCode = h.ids()
	}
	if held && h.led.Shared() {
		// Other hosts approve this card too: the committer checks its
		// limits against the journal, under the card's lock.
		e.Card = &ledger.CardLimits{Limit: a.limit, Daily: a.daily}
	}
	res, code := h.record(ctx, e)
	if res.Refused != "" {
		code = res.RespCode
	}
	if held {
		a.settle(e.Amount, code == iso.RCApproved && !res.Duplicate, code == iso.RCSystemError || res.Refused != "")
	}
	resp := h.responseInPlace(r, code) // r.m is not read after this
	if code == iso.RCApproved {
		resp.Field(37, e.RRN)
		resp.Field(38, e.AuthCode)
		switch {
		case kind == ledger.KindBalance:
			resp.Field(54, amount12(balance))
		case partial:
			resp.Field(39, iso.RCPartialApproval)
			resp.Field(54, amount12(e.Amount))
		}
		if s := settlementOf(res.Postings); s != "" {
			resp.Field(63, s)
		}
	}
	if d.sk != nil {
		if arpc, err := card.ARPC1(d.sk, d.arqc, code); err == nil {
			resp.BinaryField(55, card.EncodeTLV(card.TLV{Tag: card.TagIssuerAuthData, Value: append(arpc, code...)}))
		}
	}
	return resp
}

// void cancels an approved sale of the same batch day; field 90 names it.
func (h *Host) void(ctx context.Context, r *req, p *Fault) *iso8583.Message {
	k, ok := r.origKey()
	if !ok {
		return h.response(r, iso.RCFormatError)
	}
	e := h.entry(r, ledger.KindVoid, iso.RCApproved)
	e.Orig = k
	orig, found, err := h.led.Lookup(ctx, *k)
	switch {
	case err != nil:
		e.RespCode = iso.RCSystemError
	case !found || orig.RespCode != iso.RCApproved:
		e.RespCode = iso.RCOriginalNotFound
	case orig.Kind == ledger.KindRefund || orig.Kind == ledger.KindVoid || orig.Kind == ledger.KindBalance:
		e.RespCode = iso.RCInvalidTransaction
	case r.amountOK && r.amount != orig.Amount:
		e.RespCode = iso.RCInvalidAmount
	case r.pan != "" && orig.CardRef != "" && h.iss().ref(r.pan) != orig.CardRef:
		e.RespCode = iso.RCInvalidCard
	}
	if found {
		e.PANMasked, e.CardRef, e.Method = orig.PANMasked, orig.CardRef, orig.Method
		if !r.amountOK {
			e.Amount = orig.Amount
		}
	}
	if code, ok := forced(p); ok {
		e.RespCode = code
	}
	if e.RespCode == iso.RCApproved {
		e.RRN, e.AuthCode = h.ids()
	}
	res, code := h.record(ctx, e)
	switch {
	case code != iso.RCApproved:
	case res.OrigNotFound:
		code = iso.RCOriginalNotFound
	case res.AlreadyReversed:
		code = iso.RCInvalidTransaction
	case res.Refused != "":
		code = res.RespCode // the sale has refunds standing
	default:
		h.iss().markStale(orig.CardRef)
	}
	resp := h.response(r, code)
	if code == iso.RCApproved {
		resp.Field(37, e.RRN)
		resp.Field(38, e.AuthCode)
	}
	return resp
}

// advice journals a 0220: an offline sale the terminal approved, or the
// completion of a pre-authorisation named in field 90. Advices are answered
// 00 however often they repeat; the journal keeps one.
func (h *Host) advice(ctx context.Context, r *req, p *Fault) *iso8583.Message {
	if !r.has(3, 4, 11, 41, 42) || !r.amountOK || len(r.stan) != 6 {
		return h.response(r, iso.RCFormatError)
	}
	e := h.entry(r, ledger.KindAdvice, iso.RCApproved)
	if code := h.checkTerminal(r, true); code != "" {
		e.RespCode = code
	}
	if r.f90 != "" {
		k, ok := r.origKey()
		if !ok {
			return h.response(r, iso.RCFormatError)
		}
		e.Orig = k
		if orig, found, err := h.led.Lookup(ctx, *k); err == nil && found && orig.Kind == ledger.KindPreauth {
			e.Kind = ledger.KindCompletion
			e.RRN, e.AuthCode = orig.RRN, orig.AuthCode
		}
	}
	if r.pan != "" && r.pan != "?" {
		e.PANMasked, e.CardRef = card.MaskPAN(r.pan), h.iss().ref(r.pan)
	}
	if code, ok := forced(p); ok {
		e.RespCode = code
	}
	if e.RespCode == iso.RCApproved {
		// A completion keeps the pre-authorisation's RRN and approval
		// code (as the terminal sends them in 37 and 38); an offline sale
		// its own approval code. Whatever is missing is issued now.
		if v := h.get(r.m, 37); v != "" {
			e.RRN = v
		}
		if v := h.get(r.m, 38); v != "" {
			e.AuthCode = v
		}
		if e.RRN == "" || e.AuthCode == "" {
			rrn, auth := h.ids()
			e.RRN, e.AuthCode = cmp.Or(e.RRN, rrn), cmp.Or(e.AuthCode, auth)
		}
	}
	res, code := h.record(ctx, e)
	if res.Duplicate && res.Existing != nil {
		code = res.Existing.RespCode
		e.RRN, e.AuthCode = res.Existing.RRN, res.Existing.AuthCode
	}
	if code == iso.RCApproved {
		h.iss().markStale(e.CardRef)
	}
	resp := h.response(r, code)
	if code == iso.RCApproved {
		resp.Field(37, e.RRN)
		resp.Field(38, e.AuthCode)
	}
	return resp
}

// reversal undoes the original named in field 90, at most once: a repeat
// (0401, 0421, or the same 0400 again) is answered as the first was and
// posts nothing. A reversal of an original the host never saw is 25; of
// one it declined, 00 with nothing to undo; of a sale with refunds standing,
// 12 (it would pay the refunded money back twice).
func (h *Host) reversal(ctx context.Context, r *req, p *Fault) *iso8583.Message {
	if !r.has(11, 41, 90) || len(r.stan) != 6 {
		return h.response(r, iso.RCFormatError)
	}
	k, ok := r.origKey()
	if !ok {
		return h.response(r, iso.RCFormatError)
	}
	e := h.entry(r, ledger.KindReversal, iso.RCApproved)
	e.Orig = k
	orig, found, err := h.led.Lookup(ctx, *k)
	switch {
	case err != nil:
		e.RespCode = iso.RCSystemError
	case !found:
		e.RespCode = iso.RCOriginalNotFound
	default:
		e.PANMasked, e.CardRef, e.Method = orig.PANMasked, orig.CardRef, orig.Method
		if !r.amountOK {
			e.Amount = orig.Amount
		}
		if e.MerchantID == "" {
			e.MerchantID = orig.MerchantID
		}
	}
	if code, ok := forced(p); ok {
		e.RespCode = code
	}
	if e.RespCode == iso.RCSystemError || e.RespCode == iso.RCHostUnavailable {
		// The host did not process it: nothing is journaled, so the
		// terminal's repeat (0401) is processed afresh rather than answered
		// with this failure for ever.
		return h.response(r, e.RespCode)
	}
	res, code := h.record(ctx, e)
	switch {
	case res.Duplicate && res.Existing != nil:
		code = res.Existing.RespCode
	case res.Refused != "":
		code = res.RespCode // the sale has refunds standing: 12
	}
	if code == iso.RCApproved && found && !res.Duplicate {
		h.iss().markStale(orig.CardRef)
	}
	return h.response(r, code)
}

// reconcile compares the terminal's batch totals (0500: 74/86 sales, 76/88
// refunds, batch in 60) with the journal: 00 when equal, 95 otherwise.
func (h *Host) reconcile(ctx context.Context, r *req, p *Fault) *iso8583.Message {
	if !r.has(11, 41, 60, 74, 76, 86, 88) || r.batch() == "" {
		return h.response(r, iso.RCFormatError)
	}
	num := func(id int) (int64, bool) {
		s := strings.TrimLeft(h.get(r.m, id), "0")
		if s == "" {
			return 0, true
		}
		if !digits(s) || len(s) > 18 {
			return 0, false
		}
		var v int64
		for i := 0; i < len(s); i++ {
			v = v*10 + int64(s[i]-'0')
		}
		return v, true
	}
	sc, ok1 := num(74)
	rc, ok2 := num(76)
	sa, ok3 := num(86)
	ra, ok4 := num(88)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return h.response(r, iso.RCFormatError)
	}
	resp := func(code string) *iso8583.Message {
		m := h.response(r, code)
		for _, id := range []int{74, 76, 86, 88} {
			m.Field(id, h.get(r.m, id))
		}
		return m
	}
	if code, ok := forced(p); ok {
		return resp(code)
	}
	if code := h.checkTerminal(r, false); code != "" {
		return resp(code)
	}
	t, err := h.led.BatchTotals(ctx, r.tid, r.batch())
	if err != nil {
		h.log.Error("batch totals", "tid", r.tid, "batch", r.batch(), "err", err)
		return resp(iso.RCSystemError)
	}
	if int64(t.SaleCount) == sc && t.SaleAmount == sa && int64(t.RefundCount) == rc && t.RefundAmount == ra {
		return resp(iso.RCApproved)
	}
	h.log.Info("reconciliation out of balance", "tid", r.tid, "batch", r.batch(),
		"host_sales", t.SaleCount, "host_amount", t.SaleAmount, "terminal_sales", sc, "terminal_amount", sa,
		"host_refunds", t.RefundCount, "host_refund_amount", t.RefundAmount, "terminal_refunds", rc, "terminal_refund_amount", ra)
	return resp(iso.RCReconcileError)
}

// upload takes one transaction of a batch upload (0320) after a 95. Its key
// is field 90 when sent, else fields 11 and 7 are the transaction's own.
// If the host holds it approved nothing changes; otherwise it is journaled
// as an advice, which is how a transaction missing at the host is
// recovered before the closing 0500.
func (h *Host) upload(ctx context.Context, r *req, p *Fault) *iso8583.Message {
	if !r.has(3, 4, 11, 41, 42) || !r.amountOK || len(r.stan) != 6 {
		return h.response(r, iso.RCFormatError)
	}
	if code, ok := forced(p); ok {
		return h.response(r, code)
	}
	if code := h.checkTerminal(r, false); code != "" {
		return h.response(r, code)
	}
	key := r.key
	if r.f90 != "" {
		k, ok := r.origKey()
		if !ok {
			return h.response(r, iso.RCFormatError)
		}
		key = *k
	}
	if orig, found, err := h.led.Lookup(ctx, key); err != nil {
		return h.response(r, iso.RCSystemError)
	} else if found && orig.RespCode == iso.RCApproved {
		return h.response(r, iso.RCApproved)
	}
	kind := ledger.KindAdvice
	if strings.HasPrefix(r.proc, "20") {
		// A refund the host never approved names no sale it can check,
		// so it is recovered only within the unreferenced refund limit.
		if code := h.unreferencedCode(r); code != iso.RCApproved {
			h.log.Info("batch upload of an unknown refund refused", "key", key.String(), "amount", r.amount, "code", code)
			return h.response(r, code)
		}
		kind = ledger.KindRefund
	}
	e := h.entry(r, kind, iso.RCApproved)
	e.Key = key
	if strings.HasPrefix(r.entry, iso.EntryQR) {
		e.Method = "qr"
	}
	if r.pan != "" && r.pan != "?" {
		e.PANMasked, e.CardRef = card.MaskPAN(r.pan), h.iss().ref(r.pan)
	}
	e.RRN, e.AuthCode = h.get(r.m, 37), h.get(r.m, 38)
	res, code := h.record(ctx, e)
	if res.Duplicate {
		code = iso.RCApproved
	}
	if code == iso.RCApproved {
		h.log.Info("batch upload recovered a transaction", "key", key.String(), "amount", r.amount)
		h.iss().markStale(e.CardRef)
	}
	return h.response(r, code)
}

// settlementOf tells the terminal how an approved sale settles, in field
// 63: "D0" when it was credited to the merchant at once, "T1" when it
// waits for the next cut-off (not approved for real time, or over the
// real-time limits), so the receipt can print the real-time line.
func settlementOf(ps []ledger.Posting) string {
	for _, p := range ps {
		switch p.Type {
		case ledger.PostD0Credit:
			return "D0"
		case ledger.PostT1Pending:
			return "T1"
		}
	}
	return ""
}
