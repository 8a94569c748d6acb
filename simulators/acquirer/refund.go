package acquirer

import (
	"context"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/card"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// refund credits a card back. With field 90 it names the original sale: the
// original must be an approved sale (25, else 12) of the same card (14), not
// voided or reversed (12), and the refund at most what is left of it once
// its earlier refunds are taken off (13). What is left is decided by the
// ledger's committer in the transaction that journals the refund, so two
// refunds of one sale arriving together cannot both take it. Without field
// 90 the merchant's unreferenced_refund_limit caps the refund: none allowed
// is 57, above the limit 61.
func (h *Host) refund(ctx context.Context, r *req, p *Fault) *iso8583.Message {
	e := h.entry(r, ledger.KindRefund, iso.RCApproved)
	e.PANMasked = card.MaskPAN(r.pan)
	var orig ledger.Entry
	found := false
	if r.f90 != "" {
		k, ok := r.origKey()
		if !ok {
			return h.response(r, iso.RCFormatError)
		}
		e.Orig = k
		var err error
		if orig, found, err = h.led.Lookup(ctx, *k); err != nil {
			h.log.Error("looking up a refund's original", "key", k.String(), "err", err)
			e.RespCode = iso.RCSystemError
		}
	}
	var a *account
	switch {
	case r.pan == "" && found:
		// By reference only: the account is the original's, a wallet for
		// a QR sale.
		a = h.iss().byRef[orig.CardRef]
		e.PANMasked, e.Method = orig.PANMasked, orig.Method
	case r.pan != "" && card.Luhn(r.pan):
		a = h.iss().byPAN[r.pan]
	}
	if e.RespCode == iso.RCApproved {
		e.RespCode = h.refundCode(r, a, &orig, found)
	}
	if a != nil {
		e.CardRef = a.ref
	}
	if code, ok := forced(p); ok {
		e.RespCode = code
	}
	if e.RespCode == iso.RCApproved {
		e.RRN, e.AuthCode = h.ids()
	}
	res, code := h.record(ctx, e)
	if res.Refused != "" {
		code = res.RespCode
		h.log.Info("refund refused", "key", e.Key.String(), "card", e.PANMasked, "amount", r.amount,
			"reason", res.Refused, "code", code)
	}
	if code == iso.RCApproved && a != nil {
		h.iss().markStale(a.ref)
	}
	resp := h.response(r, code)
	if code == iso.RCApproved {
		resp.Field(37, e.RRN)
		resp.Field(38, e.AuthCode)
	}
	return resp
}

// refundCode applies the refund rules that need no journal order: the
// original exists and is a sale, the card is known, active and the
// original's, and an unreferenced refund fits the merchant's limit. The
// ledger checks the original again, atomically, with what is left of it.
func (h *Host) refundCode(r *req, a *account, orig *ledger.Entry, found bool) string {
	byRef := r.f90 != ""
	switch {
	case byRef && (!found || orig.RespCode != iso.RCApproved):
		return iso.RCOriginalNotFound
	case a == nil && r.pan == "":
		return iso.RCOriginalNotFound // the original's card is not in the book
	case a == nil:
		return iso.RCInvalidCard
	}
	a.acquire()
	st := statusCodes[a.status]
	a.release()
	switch {
	case st != "":
		return st
	case r.amount <= 0:
		return iso.RCInvalidAmount
	case !byRef:
		return h.unreferencedCode(r)
	case orig.Kind != ledger.KindSale && orig.Kind != ledger.KindQR && orig.Kind != ledger.KindCompletion && orig.Kind != ledger.KindAdvice:
		return iso.RCInvalidTransaction
	case orig.CardRef != "" && a.ref != orig.CardRef:
		// Compared as card references (keyed hashes of the PANs): the
		// PAN itself is never logged.
		return iso.RCInvalidCard
	case r.amount > orig.Amount:
		return iso.RCInvalidAmount
	}
	return iso.RCApproved
}

// unreferencedCode caps a refund that names no sale by the merchant's
// unreferenced_refund_limit: 57 (not permitted) when the merchant allows
// none, 61 (over the amount limit) above it.
func (h *Host) unreferencedCode(r *req) string {
	m, _ := h.prof().Merchant(r.mid)
	limit := int64(m.UnreferencedRefundLimit)
	switch {
	case limit <= 0:
		return iso.RCNotPermittedCard
	case r.amount > limit:
		return iso.RCOverAmountLimit
	}
	return iso.RCApproved
}
