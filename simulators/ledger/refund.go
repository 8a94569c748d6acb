package ledger

// Why the ledger journaled an approved refund, void or reversal as declined
// (Result.Refused), and the response code it journaled instead
// (Result.RespCode). These rules depend on what was journaled before, so
// only the committer can decide them without a race.
const (
	// RefusedNoOriginal: the refund names no approved transaction (25).
	RefusedNoOriginal = "no_original"
	// RefusedNotRefundable: the original is not a sale, QR payment,
	// completion or advice (12).
	RefusedNotRefundable = "not_refundable"
	// RefusedUndone: the original was voided or reversed (12).
	RefusedUndone = "original_undone"
	// RefusedOtherCard: the refund's card is not the original's (14).
	RefusedOtherCard = "other_card"
	// RefusedOverAmount: the refund is more than what is left of the
	// original once its refunds are taken off (13).
	RefusedOverAmount = "over_refundable"
	// RefusedRefunded: a void or reversal of a sale that has refunds
	// standing would give its money back twice (12).
	RefusedRefunded = "refunded"
	// RefusedCardLimit: the sale is more than the card's available
	// balance once its journaled spending is taken off (51).
	RefusedCardLimit = "card_limit"
	// RefusedCardDaily: the card has made its daily number of debits (65).
	RefusedCardDaily = "card_daily_count"
)

// refundable reports whether an approved entry of kind k can be refunded.
func refundable(k Kind) bool { return k.credits() }

// refuse turns e into a decline before it is journaled.
func refuse(e *Entry, res *Result, why, code string) {
	e.RespCode = code
	res.Refused, res.RespCode = why, code
}

// checkRefund applies the rules of a refund by reference: the original is an
// approved sale of the same card, not voided or reversed, and the refund is
// at most its amount less the refunds standing against it.
func (w *writer) checkRefund(e *Entry, res *Result) error {
	k := e.Orig
	var orig origRow
	found, err := w.scanOrig(w.st.selOrig.QueryRowContext(w.bg, k.TID, k.STAN, k.Date), &orig)
	switch {
	case err != nil:
		return err
	case !found || orig.resp != "00":
		refuse(e, res, RefusedNoOriginal, "25")
		return nil
	case !refundable(orig.kind):
		refuse(e, res, RefusedNotRefundable, "12")
		return nil
	case orig.undoneBy.Valid:
		refuse(e, res, RefusedUndone, "12")
		return nil
	case e.CardRef != "" && orig.cardRef != "" && e.CardRef != orig.cardRef:
		refuse(e, res, RefusedOtherCard, "14")
		return nil
	}
	refunded, err := w.refunded(k)
	if err != nil {
		return err
	}
	if e.Amount > orig.amount-refunded {
		refuse(e, res, RefusedOverAmount, "13")
	}
	return nil
}

// checkUndo refuses a void or reversal of a sale that has refunds standing:
// it would return the sale's whole amount on top of them.
func (w *writer) checkUndo(e *Entry, k *Key, res *Result) error {
	refunded, err := w.refunded(k)
	if err != nil {
		return err
	}
	if refunded > 0 {
		refuse(e, res, RefusedRefunded, "12")
	}
	return nil
}

// refunded is the sum of the approved refunds that name the original k and
// are not reversed, the journal's view inside the open transaction.
func (w *writer) refunded(k *Key) (int64, error) {
	var v int64
	err := w.st.sumRefunded.QueryRowContext(w.bg, k.TID, k.STAN, k.Date).Scan(&v)
	return v, err
}

// checkCard applies the card's limits of an approved sale (Entry.Card) to
// what the journal holds of the card, this transaction's records included,
// under the card's lock: two hosts approving the same card take turns.
func (w *writer) checkCard(e *Entry, res *Result) error {
	if !w.pre.locked {
		if err := w.lockKey(Key{TID: "card", STAN: e.CardRef}); err != nil {
			return err
		}
	}
	var spent, dayCount int64
	day := dayName(e.Time)
	if err := w.st.selCard.QueryRowContext(w.bg, e.CardRef, day).Scan(&spent, &dayCount); err != nil {
		return err
	}
	for k, u := range w.cards { // this transaction's, not written before flush
		if k.card == e.CardRef {
			spent += u.debit - u.credit
			if k.day == day {
				dayCount += u.count
			}
		}
	}
	switch {
	case e.Card.Daily > 0 && dayCount >= int64(e.Card.Daily):
		refuse(e, res, RefusedCardDaily, "65")
	case e.Card.Limit > 0 && e.Amount > e.Card.Limit-max(spent, 0):
		refuse(e, res, RefusedCardLimit, "51")
	}
	return nil
}
