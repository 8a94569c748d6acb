package ledger

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// origRow is what undoing needs to know about an earlier entry.
type origRow struct {
	id       int64
	kind     Kind
	resp     string
	merchant string
	cardRef  string
	amount   int64
	timeNs   int64
	origID   sql.NullInt64 // for a void/reversal: the entry it undid
	undoneBy sql.NullInt64
	// referenced: the entry names an original (a refund by reference
	// credits the card back; an unreferenced one does not)
	referenced bool
}

func (w *writer) scanOrig(row *sql.Row, o *origRow) (bool, error) {
	err := row.Scan(&o.id, &o.kind, &o.resp, &o.merchant, &o.cardRef, &o.amount, &o.timeNs, &o.origID, &o.undoneBy, &o.referenced)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// record journals e and applies its postings inside the open transaction.
// Every check that can refuse e runs before the first write.
func (w *writer) record(e *Entry, res *Result) error {
	approved := e.RespCode == "00"
	var m Merchant
	if approved && (e.Kind.credits() || e.Kind == KindRefund) {
		var ok bool
		var err error
		if m, ok, err = w.lockMerchant(e.MerchantID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("entry %s: merchant %q: %w", e.Key, e.MerchantID, ErrNotFound)
		}
	}

	var orig origRow
	found := false
	var k *Key
	if e.Kind.undoes() {
		k = e.Orig
		if k == nil && e.Kind == KindReversal {
			k = &e.Key
		}
		if k != nil {
			var err error
			if e.Kind == KindReversal {
				if err := w.lockKey(*k); err != nil {
					return err
				}
			}
			if found, err = w.scanOrig(w.st.selOrig.QueryRowContext(w.bg, k.TID, k.STAN, k.Date), &orig); err != nil {
				return err
			}
		}
		switch {
		case !found || orig.resp != "00":
			res.OrigNotFound = true
		case orig.undoneBy.Valid:
			res.AlreadyReversed = true
		}
	}
	if approved && e.Kind == KindVoid && (res.OrigNotFound || res.AlreadyReversed) {
		// A void that undoes nothing is declined, and the journal keeps the
		// code the host answers: 25 original not found, 12 already undone.
		e.RespCode, e.RRN, e.AuthCode = "25", "", ""
		if res.AlreadyReversed {
			e.RespCode = "12"
		}
		approved = false
	}
	undo := approved && e.Kind.undoes() && !res.OrigNotFound && !res.AlreadyReversed
	// What is left of a sale to refund or void depends on what was
	// journaled before, so it is checked here, in the committer's serial
	// order and the transaction that journals e: two refunds of one sale
	// cannot both see its whole amount.
	var err error
	if err = w.prelock(e, approved); err != nil {
		return err
	}
	switch {
	case undo && orig.kind.credits():
		err = w.checkUndo(e, k, res)
	case approved && e.Kind == KindRefund && e.Orig != nil:
		err = w.checkRefund(e, res)
	case approved && (e.Kind == KindSale || e.Kind == KindQR) && e.Card != nil && e.CardRef != "":
		err = w.checkCard(e, res)
	}
	if err != nil {
		return err
	}
	if res.Refused != "" {
		approved, undo = false, false
	}

	var origID any
	if undo {
		origID = orig.id
	}
	var oTID, oSTAN, oDate any
	if e.Orig != nil {
		oTID, oSTAN, oDate = e.Orig.TID, e.Orig.STAN, e.Orig.Date
	}
	cls := mtiClass(e.MTI)
	// On a duplicate, ON CONFLICT inserts nothing and returns no id; on
	// PostgreSQL it first waits for another host's transaction inserting
	// the same key, so the duplicate read next is the committed one.
	var id int64
	args := []any{e.Key.TID, e.Key.STAN, e.Key.Date, cls, e.MTI, e.ProcCode,
		string(e.Kind), e.MerchantID, e.PANMasked, e.CardRef, e.Method, e.Amount, e.Currency, e.RespCode,
		e.AuthCode, e.RRN, e.Batch, oTID, oSTAN, oDate, origID, e.Time.UnixNano()}
	if w.pre.locked {
		err = w.insertFetchingOrphan(e.Key, args, &id)
	} else {
		id, err = w.insertEntry(args)
	}
	if errors.Is(err, sql.ErrNoRows) {
		ex, err := scanEntry(w.st.selEntry.QueryRowContext(w.bg, e.Key.TID, e.Key.STAN, e.Key.Date, cls))
		if err != nil {
			return err
		}
		*res = Result{Duplicate: true, Existing: &ex}
		return nil
	}
	if err != nil || !approved {
		return err
	}

	switch {
	case e.Kind.credits():
		if err = w.credit(e, id, &m, res); err == nil {
			err = w.lateReversal(e, id, res)
		}
	case e.Kind == KindRefund:
		err = w.refund(e, id, &m, res)
	case undo && orig.kind.undoes():
		err = w.redo(e, id, &orig, res)
	case undo:
		err = w.undo(e, id, &orig, res)
	case e.Kind == KindReversal && !found && k != nil && !w.l.d.pg:
		if _, waiting := w.orphans[*k]; !waiting {
			w.orphans[*k] = orphan{id: id, key: e.Key}
		}
	}
	if err != nil {
		return err
	}
	for i := range res.Postings {
		res.Postings[i].Time = res.Postings[i].Time.In(e.Time.Location())
	}
	cardRef := e.CardRef
	if e.Kind == KindRefund && e.Orig == nil {
		cardRef = "" // see cardEffect
	}
	return w.cardEffect(cardRef, e.Kind, e.Amount, e.Time, 1)
}

// insertEntry inserts an entry and returns its id, or sql.ErrNoRows when
// its key is journaled already.
func (w *writer) insertEntry(args []any) (int64, error) {
	var id int64
	if w.l.d.pg {
		err := w.st.insEntry.QueryRowContext(w.bg, args...).Scan(&id)
		return id, err
	}
	r, err := w.st.insEntry.ExecContext(w.bg, args...)
	if err != nil {
		return 0, err
	}
	if n, err := r.RowsAffected(); err != nil {
		return 0, err
	} else if n == 0 {
		return 0, sql.ErrNoRows
	}
	return r.LastInsertId()
}

// credit posts an approved sale: D0 when the merchant is approved for real
// time and the sale fits the per-transaction and daily limits, else T+1.
func (w *writer) credit(e *Entry, id int64, m *Merchant, res *Result) error {
	if e.Amount == 0 {
		return nil
	}
	bps := m.feeBPS(e.Method, e.Kind)
	fee := Fee(e.Amount, bps)
	p := posting{merchant: m.ID, entryID: id, origin: id, typ: PostT1Pending, gross: e.Amount, fee: fee,
		net: e.Amount - fee, bps: bps, timeNs: e.Time.UnixNano(), open: true}
	if m.settlesD0() && (m.RealtimePerTxn == 0 || e.Amount <= m.RealtimePerTxn) {
		k := d0Key{m.ID, dayStart(e.Time).UnixNano()}
		used, err := w.d0Used(k, e.Time)
		if err != nil {
			return err
		}
		if m.RealtimeDaily == 0 || used+e.Amount <= m.RealtimeDaily {
			p.typ, p.open = PostD0Credit, false
			w.d0used[k] = used + e.Amount
		}
	}
	return w.post(&p, e.Key, res)
}

// lateReversal applies a reversal that arrived before the entry id it
// reverses.
func (w *writer) lateReversal(e *Entry, id int64, res *Result) error {
	o, ok, err := w.findOrphan(e.Key)
	if err != nil || !ok {
		return err
	}
	if _, err := w.st.setOrigID.ExecContext(w.bg, id, o.id); err != nil {
		return err
	}
	res.LateReversed = true
	rev := Entry{Key: o.key, Time: e.Time}
	orig := origRow{id: id, kind: e.Kind, resp: e.RespCode, merchant: e.MerchantID, cardRef: e.CardRef,
		amount: e.Amount, timeNs: e.Time.UnixNano(), referenced: e.Orig != nil}
	return w.undo(&rev, o.id, &orig, res)
}

// findOrphan takes the approved reversal waiting for the original k, if
// any. SQLite's committer keeps them in memory; on PostgreSQL another host
// may have journaled it, so the journal is asked, under the key's lock.
func (w *writer) findOrphan(k Key) (orphan, bool, error) {
	if !w.l.d.pg {
		o, ok := w.orphans[k]
		delete(w.orphans, k)
		return o, ok, nil
	}
	if w.pre.locked { // read with the insert, after the lock
		return w.pre.orphan, w.pre.found, nil
	}
	if err := w.lockKey(k); err != nil {
		return orphan{}, false, err
	}
	var o orphan
	err := w.st.selOrphan.QueryRowContext(w.bg, k.TID, k.STAN, k.Date).Scan(&o.id, &o.key.TID, &o.key.STAN, &o.key.Date)
	if errors.Is(err, sql.ErrNoRows) {
		return orphan{}, false, nil
	}
	return o, err == nil, err
}

// refund takes the money back from the merchant: at once from the account
// of a merchant settling in real time, else netted at the next cut-off as a
// negative pending posting. The fee on the refunded amount is returned.
func (w *writer) refund(e *Entry, id int64, m *Merchant, res *Result) error {
	if e.Amount == 0 {
		return nil
	}
	bps := m.feeBPS(e.Method, e.Kind)
	fee := Fee(e.Amount, bps)
	p := posting{merchant: m.ID, entryID: id, origin: id, typ: PostReverseD0, gross: e.Amount, fee: fee,
		net: e.Amount - fee, bps: bps, timeNs: e.Time.UnixNano()}
	if !m.settlesD0() {
		p.typ, p.gross, p.fee, p.net, p.open = PostT1Pending, -p.gross, -p.fee, -p.net, true
	}
	return w.post(&p, e.Key, res)
}

// undo cancels the money of orig (a sale, refund...): its open pending
// posting is cancelled and whatever reached the account is taken back.
func (w *writer) undo(e *Entry, id int64, orig *origRow, res *Result) error {
	if _, err := w.st.setUndone.ExecContext(w.bg, id, orig.id); err != nil {
		return err
	}
	rows, err := w.st.selOrigin.QueryContext(w.bg, orig.id)
	if err != nil {
		return err
	}
	var open []posting
	var back posting
	for rows.Next() {
		var p posting
		var isOpen bool
		if err := rows.Scan(&p.id, &p.merchant, &p.typ, &p.gross, &p.fee, &p.net, &p.bps, &isOpen); err != nil {
			rows.Close()
			return err
		}
		switch {
		case p.typ == PostT1Pending && isOpen:
			open = append(open, p)
		case p.typ == PostD0Credit || p.typ == PostT1Credit:
			back.add(&p, 1)
		case p.typ == PostReverseD0:
			back.add(&p, -1)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	now := e.Time.UnixNano()
	for _, p := range open {
		r, err := w.st.closePending.ExecContext(w.bg, p.id)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			// Another host's cut-off credited it since it was read:
			// run again, to take the credit back instead.
			return errSettledMeanwhile
		}
		c := posting{merchant: p.merchant, entryID: id, origin: orig.id, typ: PostCancelT1, gross: p.gross,
			fee: p.fee, net: p.net, bps: p.bps, timeNs: now, ref: p.id}
		if err := w.post(&c, e.Key, res); err != nil {
			return err
		}
	}
	if back.gross != 0 || back.fee != 0 || back.net != 0 {
		back.entryID, back.origin, back.typ, back.timeNs = id, orig.id, PostReverseD0, now
		if err := w.post(&back, e.Key, res); err != nil {
			return err
		}
	}
	return w.cardEffectOf(orig, e.Time.Location(), -1)
}

// redo undoes a void or reversal (a reversal of a timed-out void): the
// original it cancelled stands again, and the void's postings are inverted.
func (w *writer) redo(e *Entry, id int64, void *origRow, res *Result) error {
	if _, err := w.st.setUndone.ExecContext(w.bg, id, void.id); err != nil {
		return err
	}
	if !void.origID.Valid {
		return nil // the void had cancelled nothing
	}
	var orig origRow
	if found, err := w.scanOrig(w.st.selByID.QueryRowContext(w.bg, void.origID.Int64), &orig); err != nil || !found {
		return err
	}
	if _, err := w.st.clearUndone.ExecContext(w.bg, orig.id); err != nil {
		return err
	}
	rows, err := w.st.selByEntry.QueryContext(w.bg, void.id)
	if err != nil {
		return err
	}
	var ps []posting
	for rows.Next() {
		var p posting
		if err := rows.Scan(&p.id, &p.merchant, &p.origin, &p.typ, &p.gross, &p.fee, &p.net, &p.bps); err != nil {
			rows.Close()
			return err
		}
		ps = append(ps, p)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	now := e.Time.UnixNano()
	for _, p := range ps {
		n := posting{merchant: p.merchant, entryID: id, origin: p.origin, bps: p.bps, timeNs: now, ref: p.id}
		switch p.typ {
		case PostCancelT1:
			n.typ, n.gross, n.fee, n.net, n.open = PostT1Pending, p.gross, p.fee, p.net, true
		case PostReverseD0:
			n.typ, n.gross, n.fee, n.net = PostReverseD0, -p.gross, -p.fee, -p.net
		default:
			continue
		}
		if err := w.post(&n, e.Key, res); err != nil {
			return err
		}
	}
	return w.cardEffectOf(&orig, e.Time.Location(), 1)
}

// posting is a row of the postings table as the writer builds it.
type posting struct {
	id, entryID, origin int64
	merchant, typ       string
	gross, fee, net     int64
	bps, timeNs, ref    int64
	open                bool
}

func (p *posting) add(q *posting, sign int64) {
	p.merchant = q.merchant
	p.bps = q.bps
	p.gross += sign * q.gross
	p.fee += sign * q.fee
	p.net += sign * q.net
	if p.ref == 0 {
		p.ref = q.id
	}
}

// balanceEffect is what p does to the merchant's balance.
func balanceEffect(typ string, net int64) int64 {
	switch typ {
	case PostD0Credit, PostT1Credit:
		return net
	case PostReverseD0:
		return -net
	}
	return 0
}

func (w *writer) post(p *posting, key Key, res *Result) error {
	var ref any
	if p.ref != 0 {
		ref = p.ref
	}
	open := 0
	if p.open {
		open = 1
	}
	if _, err := w.st.insPosting.ExecContext(w.bg, p.merchant, p.entryID, p.origin, p.typ, p.gross, p.fee, p.net,
		p.bps, p.timeNs, ref, open); err != nil {
		return err
	}
	if d := balanceEffect(p.typ, p.net); d != 0 {
		w.balances[p.merchant] += d
	}
	if res != nil {
		res.Postings = append(res.Postings, Posting{MerchantID: p.merchant, EntryKey: key, Type: p.typ,
			Gross: p.gross, Fee: p.fee, Net: p.net, Time: time.Unix(0, p.timeNs)})
	}
	return nil
}

// d0Used is the merchant's D0-credited gross on the day of t, read once a
// day from the postings and then kept in memory by the committer.
func (w *writer) d0Used(k d0Key, t time.Time) (int64, error) {
	if v, ok := w.d0used[k]; ok {
		return v, nil
	}
	start := dayStart(t)
	if w.l.d.pg {
		return w.d0UsedShared(k, start)
	}
	var v int64
	err := w.st.sumD0.QueryRowContext(w.bg, k.merchant, start.UnixNano(), start.AddDate(0, 0, 1).UnixNano()).Scan(&v)
	if err != nil {
		return 0, err
	}
	w.d0used[k] = v
	return v, nil
}

// d0Base is the committed D0 total of a merchant's day up to posting
// lastID, as a PostgreSQL host last read it.
type d0Base struct{ sum, lastID int64 }

// d0UsedShared reads what other hosts (and this one) credited D0 since the
// last read, under the merchant's row lock. Every D0 posting of the
// merchant is written under that lock, so none with an id below lastID
// can still be uncommitted: the ids drawn after the lock was last released
// are higher. One day's total is read once, then only its new postings.
func (w *writer) d0UsedShared(k d0Key, start time.Time) (int64, error) {
	b := w.d0base[k]
	var add, last int64
	if err := w.st.sumD0Since.QueryRowContext(w.bg, k.merchant, b.lastID, start.UnixNano(),
		start.AddDate(0, 0, 1).UnixNano()).Scan(&add, &last); err != nil {
		return 0, err
	}
	b.sum += add
	b.lastID = max(b.lastID, last)
	if !w.l.opts.Serializable { // without the lock, a lower id may commit later
		w.d0base[k] = b
	}
	w.d0used[k] = b.sum
	return b.sum, nil
}

// cardEffect keeps the card's daily usage: a sale debits the card on its
// day, a refund credits it; sign -1 takes an earlier effect back. Only a
// refund by reference credits the card: it gives back at most what its sale
// took, so no refund lifts a card's available balance above what it was
// before the sale. An unreferenced refund (callers pass no cardRef) moves
// the merchant's money but not the card's limit.
func (w *writer) cardEffect(cardRef string, kind Kind, amount int64, t time.Time, sign int64) error {
	if cardRef == "" {
		return nil
	}
	var count, debit, credit int64
	switch {
	case kind.credits():
		count, debit = sign, sign*amount
	case kind == KindRefund:
		credit = sign * amount
	default:
		return nil
	}
	k := cardDay{cardRef, dayName(t)}
	u := w.cards[k]
	u.count += count
	u.debit += debit
	u.credit += credit
	w.cards[k] = u
	return nil
}

type cardDay struct{ card, day string }

type cardDelta struct{ count, debit, credit int64 }

// flush writes the balance and card-usage changes the transaction gathered
// and the card counters taken from RaiseATC: one statement per merchant,
// per card-day and per card instead of one per record. Rows are written in
// key order, so two hosts' transactions lock them in the same order and do
// not deadlock on them. The counters stay in w.atcs until a commit carries
// them (a replay after a rollback writes them again).
func (w *writer) flush() error {
	for _, id := range slices.Sorted(maps.Keys(w.balances)) {
		if d := w.balances[id]; d != 0 {
			if _, err := w.st.addBalance.ExecContext(w.bg, d, id); err != nil {
				return err
			}
		}
	}
	clear(w.balances)
	keys := slices.SortedFunc(maps.Keys(w.cards), func(a, b cardDay) int {
		return cmp.Or(strings.Compare(a.card, b.card), strings.Compare(a.day, b.day))
	})
	for _, k := range keys {
		u := w.cards[k]
		if _, err := w.st.upsCard.ExecContext(w.bg, k.card, k.day, u.count, u.debit, u.credit); err != nil {
			return err
		}
	}
	clear(w.cards)
	for _, card := range slices.Sorted(maps.Keys(w.atcs)) {
		r := w.atcs[card]
		if _, err := w.st.upsATC.ExecContext(w.bg, card, r.atc, r.timeNs); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) cardEffectOf(o *origRow, loc *time.Location, sign int64) error {
	if o.kind == KindRefund && !o.referenced {
		return nil
	}
	return w.cardEffect(o.cardRef, o.kind, o.amount, time.Unix(0, o.timeNs).In(loc), sign)
}
