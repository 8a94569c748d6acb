package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

const merchantCols = "id, name, mode, realtime, rt_per_txn, rt_daily, card_bps, qr_bps, unref_limit"

type scanner interface{ Scan(dest ...any) error }

func scanMerchant(s scanner) (Merchant, error) {
	var m Merchant
	err := s.Scan(&m.ID, &m.Name, &m.Mode, &m.Realtime, &m.RealtimePerTxn, &m.RealtimeDaily, &m.CardFeeBPS, &m.QRFeeBPS, &m.UnreferencedRefundLimit)
	return m, err
}

func scanEntry(s scanner) (Entry, error) {
	var e Entry
	var oTID, oSTAN, oDate sql.NullString
	var ns int64
	err := s.Scan(&e.Key.TID, &e.Key.STAN, &e.Key.Date, &e.MTI, &e.ProcCode, &e.Kind, &e.MerchantID, &e.PANMasked,
		&e.CardRef, &e.Method, &e.Amount, &e.Currency, &e.RespCode, &e.AuthCode, &e.RRN, &e.Batch, &oTID, &oSTAN, &oDate, &ns)
	if err != nil {
		return Entry{}, err
	}
	if oTID.Valid {
		e.Orig = &Key{TID: oTID.String, STAN: oSTAN.String, Date: oDate.String}
	}
	e.Time = time.Unix(0, ns)
	return e, nil
}

// readStmts are prepared on the read pool; database/sql re-prepares them on
// each connection as needed.
type readStmts struct {
	lookup, merchant, card, balance *sql.Stmt
}

func (s *readStmts) prepare(ctx context.Context, db db) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	s.lookup = prep("SELECT " + entryCols + ` FROM entries WHERE tid = ? AND stan = ? AND date = ?
		AND kind NOT IN ('reversal', 'balance') ORDER BY resp = '00' DESC, id LIMIT 1`)
	s.merchant = prep("SELECT " + merchantCols + " FROM merchants WHERE id = ?")
	// Spent is clamped at zero: credits beyond the debits (journaled by
	// older versions, which let any refund credit the card) never lift the
	// available balance above the card's limit.
	s.card = prep(`SELECT ` + db.d.greatest() + `(0, COALESCE(SUM(debit_amount - credit_amount), 0)),
		COALESCE(SUM(CASE WHEN day = ?2 THEN debit_amount END), 0),
		COALESCE(SUM(CASE WHEN day = ?2 THEN debit_count END), 0)
		FROM card_days WHERE card_ref = ?1`)
	s.balance = prep("SELECT balance FROM merchants WHERE id = ?")
	return err
}

func (s *readStmts) close() {
	for _, st := range []*sql.Stmt{s.lookup, s.merchant, s.card, s.balance} {
		if st != nil {
			st.Close()
		}
	}
}

// point is the context for an indexed single-row read. Such a read takes
// microseconds and never waits for the writer under WAL, while a cancellable
// context costs a watcher goroutine per call in the driver; so the caller's
// context is checked once instead of watched.
func point(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

func (l *Ledger) readErr(doing string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return l.fileErr(doing, err)
}

// PutMerchant creates or replaces a merchant profile, keeping its balance.
func (l *Ledger) PutMerchant(ctx context.Context, m Merchant) error {
	if err := m.normalize(); err != nil {
		return err
	}
	return l.do(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(w.bg, `INSERT INTO merchants (`+merchantCols+`) VALUES (?,?,?,?,?,?,?,?,?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, mode = excluded.mode, realtime = excluded.realtime,
			rt_per_txn = excluded.rt_per_txn, rt_daily = excluded.rt_daily, card_bps = excluded.card_bps,
			qr_bps = excluded.qr_bps, unref_limit = excluded.unref_limit`,
			m.ID, m.Name, string(m.Mode), string(m.Realtime), m.RealtimePerTxn, m.RealtimeDaily, m.CardFeeBPS, m.QRFeeBPS,
			m.UnreferencedRefundLimit)
		if err != nil {
			return l.fileErr("saving merchant "+m.ID, err)
		}
		w.merchants[m.ID] = m
		return nil
	})
}

// Merchant returns a merchant profile, or an error wrapping ErrNotFound.
func (l *Ledger) Merchant(ctx context.Context, id string) (Merchant, error) {
	pctx, err := point(ctx)
	if err != nil {
		return Merchant{}, err
	}
	m, err := scanMerchant(l.rstmt.merchant.QueryRowContext(pctx, id))
	if err == sql.ErrNoRows {
		return Merchant{}, fmt.Errorf("merchant %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Merchant{}, l.readErr("reading merchant "+id, err)
	}
	return m, nil
}

// SetRealtime moves a merchant's real-time settlement application to st.
func (l *Ledger) SetRealtime(ctx context.Context, id string, st RealtimeStatus) error {
	if !st.valid() {
		return fmt.Errorf("%w: real-time status %q", ErrInvalid, st)
	}
	return l.do(ctx, func(w *writer) error {
		m, ok := w.merchants[id]
		if !ok {
			return fmt.Errorf("merchant %q: %w", id, ErrNotFound)
		}
		if _, err := w.conn.ExecContext(w.bg, "UPDATE merchants SET realtime = ? WHERE id = ?", string(st), id); err != nil {
			return l.fileErr("saving merchant "+id, err)
		}
		m.Realtime = st
		w.merchants[id] = m
		return nil
	})
}

// Balance is the merchant account's balance in fen: what D0 and cut-off
// credits put there, less what voids, reversals and refunds took back.
func (l *Ledger) Balance(ctx context.Context, merchantID string) (int64, error) {
	pctx, err := point(ctx)
	if err != nil {
		return 0, err
	}
	var b int64
	err = l.rstmt.balance.QueryRowContext(pctx, merchantID).Scan(&b)
	if err == sql.ErrNoRows {
		return 0, fmt.Errorf("merchant %q: %w", merchantID, ErrNotFound)
	}
	if err != nil {
		return 0, l.readErr("reading balance of "+merchantID, err)
	}
	return b, nil
}

// Lookup finds the financial entry (not a reversal or balance inquiry) with
// key k, approved or declined; an approved one is preferred.
func (l *Ledger) Lookup(ctx context.Context, k Key) (Entry, bool, error) {
	pctx, err := point(ctx)
	if err != nil {
		return Entry{}, false, err
	}
	e, err := scanEntry(l.rstmt.lookup.QueryRowContext(pctx, k.TID, k.STAN, k.Date))
	if err == sql.ErrNoRows {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, l.readErr("looking up "+k.String(), err)
	}
	return e, true, nil
}

// CardUsage is what the card with cardRef has spent: all approved debits
// minus credits, and the debits of the calendar day of day (in its location,
// which must be the location of the entries' times).
func (l *Ledger) CardUsage(ctx context.Context, cardRef string, day time.Time) (Usage, error) {
	pctx, err := point(ctx)
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	if err := l.rstmt.card.QueryRowContext(pctx, cardRef, dayName(day)).Scan(&u.Spent, &u.DayAmount, &u.DayCount); err != nil {
		return Usage{}, l.readErr("reading card usage", err)
	}
	return u, nil
}

// CutOff credits every pending T+1 posting made before the end of the
// calendar day of day (in day's location) and returns the credit postings,
// stamped day (or the pending posting's time, if later).
func (l *Ledger) CutOff(ctx context.Context, day time.Time) ([]Posting, error) {
	end := dayStart(day).AddDate(0, 0, 1).UnixNano()
	var out []Posting
	err := l.do(ctx, func(w *writer) error {
		out = out[:0]
		rows, err := w.conn.QueryContext(w.bg, `SELECT p.id, p.merchant, p.entry_id, p.origin, p.gross, p.fee, p.net,
			p.bps, p.time_ns, e.tid, e.stan, e.date FROM postings p JOIN entries e ON e.id = p.entry_id
			WHERE p.open = 1 AND p.time_ns < ? ORDER BY p.id`, end)
		if err != nil {
			return l.fileErr("cut-off", err)
		}
		type pend struct {
			p   posting
			key Key
		}
		var ps []pend
		for rows.Next() {
			var x pend
			if err := rows.Scan(&x.p.id, &x.p.merchant, &x.p.entryID, &x.p.origin, &x.p.gross, &x.p.fee, &x.p.net,
				&x.p.bps, &x.p.timeNs, &x.key.TID, &x.key.STAN, &x.key.Date); err != nil {
				rows.Close()
				return l.fileErr("cut-off", err)
			}
			ps = append(ps, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return l.fileErr("cut-off", err)
		}
		var res Result
		for _, x := range ps {
			r, err := w.st.closePending.ExecContext(w.bg, x.p.id)
			var n int64
			if err == nil {
				n, err = r.RowsAffected()
			}
			if err != nil {
				return l.fileErr("cut-off", err)
			}
			if n == 0 {
				continue // another host's cut-off or a void closed it meanwhile
			}
			c := x.p
			c.typ, c.ref, c.open, c.timeNs = PostT1Credit, x.p.id, false, max(day.UnixNano(), x.p.timeNs)
			if err := w.post(&c, x.key, &res); err != nil {
				return l.fileErr("cut-off", err)
			}
		}
		out = res.Postings
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Time = out[i].Time.In(day.Location())
	}
	return out, nil
}

// Postings lists a merchant's postings made in [from, to), oldest first.
func (l *Ledger) Postings(ctx context.Context, merchantID string, from, to time.Time) ([]Posting, error) {
	rows, err := l.rdb.QueryContext(ctx, `SELECT p.type, p.gross, p.fee, p.net, p.time_ns, e.tid, e.stan, e.date
		FROM postings p JOIN entries e ON e.id = p.entry_id
		WHERE p.merchant = ? AND p.time_ns >= ? AND p.time_ns < ? ORDER BY p.time_ns, p.id`,
		merchantID, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, l.readErr("reading postings", err)
	}
	defer rows.Close()
	var out []Posting
	for rows.Next() {
		p := Posting{MerchantID: merchantID}
		var ns int64
		if err := rows.Scan(&p.Type, &p.Gross, &p.Fee, &p.Net, &ns, &p.EntryKey.TID, &p.EntryKey.STAN, &p.EntryKey.Date); err != nil {
			return nil, l.readErr("reading postings", err)
		}
		p.Time = time.Unix(0, ns).In(from.Location())
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, l.readErr("reading postings", err)
	}
	return out, nil
}

// Stats reports the number of journal entries and the bytes the ledger
// takes on disk (database plus WAL), for the bytes-per-sale figure.
func (l *Ledger) Stats(ctx context.Context) (entries int, bytesOnDisk int64, err error) {
	if err := l.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM entries").Scan(&entries); err != nil {
		return 0, 0, l.readErr("counting entries", err)
	}
	if l.d.pg {
		err := l.rdb.QueryRowContext(ctx, "SELECT pg_database_size(current_database())").Scan(&bytesOnDisk)
		if err != nil {
			return 0, 0, l.readErr("measuring the database", err)
		}
		return entries, bytesOnDisk, nil
	}
	for _, p := range []string{l.path, l.path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			bytesOnDisk += st.Size()
		}
	}
	return entries, bytesOnDisk, nil
}
