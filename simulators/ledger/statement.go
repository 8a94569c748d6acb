package ledger

import (
	"context"
	"fmt"
	"time"
)

// Period is the span of a statement.
type Period string

const (
	Day     Period = "day"
	Month   Period = "month"
	Quarter Period = "quarter"
)

// Bounds is the period containing at, in at's location: [from, to).
func (p Period) Bounds(at time.Time) (from, to time.Time, err error) {
	y, m, d := at.Date()
	loc := at.Location()
	switch p {
	case Day:
		from = time.Date(y, m, d, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 0, 1), nil
	case Month:
		from = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 1, 0), nil
	case Quarter:
		from = time.Date(y, (m-1)/3*3+1, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 3, 0), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%w: period %q (want day, month or quarter)", ErrInvalid, p)
}

// Statement is a merchant's account of one period. Count and Gross are the
// approved sales (sale, QR, completion, advice) made in the period; Refunds
// and Reversals the refunds and the voids/reversals applied in it. The money
// figures come from the postings made in the period: Fees are the fees
// charged less those returned, Net = Gross - Refunds - Reversals - Fees as
// the postings carry it, SettledD0 what real-time postings moved on the
// account, SettledT1 what cut-offs in the period credited, and PendingT1 what
// of the period's T+1 postings still waits for a cut-off.
type Statement struct {
	MerchantID, Name string
	Period           Period
	From, To         time.Time
	Count            int
	Gross            int64
	Fees             int64
	Net              int64
	SettledD0        int64
	SettledT1        int64
	PendingT1        int64
	RefundCount      int
	Refunds          int64
	ReversalCount    int
	Reversals        int64
	DeclinedCount    int
	Lines            []StatementLine
}

// StatementLine is one journal entry of the merchant in the period. Fee and
// Net are signed as they move the merchant's money (a refund is negative).
type StatementLine struct {
	Time      time.Time
	Key       Key
	Kind      Kind
	Method    string
	PANMasked string
	Amount    int64
	RespCode  string
	AuthCode  string
	RRN       string
	Batch     string
	Fee, Net  int64
	// Settlement: "d0", "t1_pending", "t1_credited", "reversed" (voided or
	// reversed later), "declined", or "" for an entry that moves no money.
	Settlement string
}

// Statement builds the merchant's statement for the period containing at.
func (l *Ledger) Statement(ctx context.Context, merchantID string, p Period, at time.Time) (Statement, error) {
	from, to, err := p.Bounds(at)
	if err != nil {
		return Statement{}, err
	}
	m, err := l.Merchant(ctx, merchantID)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{MerchantID: m.ID, Name: m.Name, Period: p, From: from, To: to}
	lo, hi := from.UnixNano(), to.UnixNano()

	// Money: the postings of the period, summed, and per entry for the lines.
	type money struct {
		fee, net   int64
		primary    string
		open       bool
		hasPrimary bool
	}
	byEntry := map[int64]*money{}
	rows, err := l.rdb.QueryContext(ctx, `SELECT p.entry_id, p.type, p.gross, p.fee, p.net, p.open, e.kind
		FROM postings p JOIN entries e ON e.id = p.entry_id
		WHERE p.merchant = ? AND p.time_ns >= ? AND p.time_ns < ? ORDER BY p.id`, merchantID, lo, hi)
	if err != nil {
		return Statement{}, l.readErr("reading statement", err)
	}
	revEntries := map[int64]bool{}
	refundEntries := map[int64]bool{}
	for rows.Next() {
		var id, gross, fee, net int64
		var typ string
		var open bool
		var kind Kind
		if err := rows.Scan(&id, &typ, &gross, &fee, &net, &open, &kind); err != nil {
			rows.Close()
			return Statement{}, l.readErr("reading statement", err)
		}
		mo := byEntry[id]
		if mo == nil {
			mo = &money{}
			byEntry[id] = mo
		}
		sign := int64(1)
		switch typ {
		case PostReverseD0, PostCancelT1:
			sign = -1
		}
		if typ != PostT1Credit {
			st.Fees += sign * fee
			st.Net += sign * net
			mo.fee += sign * fee
			mo.net += sign * net
			if !mo.hasPrimary {
				mo.primary, mo.open, mo.hasPrimary = typ, open, true
			}
		}
		switch typ {
		case PostD0Credit, PostReverseD0:
			st.SettledD0 += balanceEffect(typ, net)
		case PostT1Credit:
			st.SettledT1 += net
		case PostT1Pending:
			if open {
				st.PendingT1 += net
			}
		}
		switch {
		case kind.undoes():
			if !revEntries[id] {
				revEntries[id] = true
				st.ReversalCount++
			}
			if typ != PostT1Credit {
				st.Reversals -= sign * gross // a reversal of a void gives back
			}
		case kind == KindRefund && typ != PostT1Credit:
			if !refundEntries[id] {
				refundEntries[id] = true
				st.RefundCount++
			}
			st.Refunds += abs(gross)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Statement{}, l.readErr("reading statement", err)
	}

	rows, err = l.rdb.QueryContext(ctx, `SELECT id, undone_by IS NOT NULL, `+entryCols+`
		FROM entries WHERE merchant = ? AND time_ns >= ? AND time_ns < ? AND kind != 'balance' ORDER BY time_ns, id`,
		merchantID, lo, hi)
	if err != nil {
		return Statement{}, l.readErr("reading statement", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var undone bool
		var e Entry
		var ns int64
		var oTID, oSTAN, oDate any
		if err := rows.Scan(&id, &undone, &e.Key.TID, &e.Key.STAN, &e.Key.Date, &e.MTI, &e.ProcCode, &e.Kind,
			&e.MerchantID, &e.PANMasked, &e.CardRef, &e.Method, &e.Amount, &e.Currency, &e.RespCode, &e.AuthCode,
			&e.RRN, &e.Batch, &oTID, &oSTAN, &oDate, &ns); err != nil {
			return Statement{}, l.readErr("reading statement", err)
		}
		ln := StatementLine{Time: time.Unix(0, ns).In(from.Location()), Key: e.Key, Kind: e.Kind, Method: e.Method,
			PANMasked: e.PANMasked, Amount: e.Amount, RespCode: e.RespCode, AuthCode: e.AuthCode, RRN: e.RRN, Batch: e.Batch}
		if mo := byEntry[id]; mo != nil {
			ln.Fee, ln.Net = mo.fee, mo.net
			switch {
			case mo.primary == PostD0Credit || (mo.primary == PostReverseD0 && e.Kind == KindRefund):
				ln.Settlement = "d0"
			case mo.primary == PostT1Pending && mo.open:
				ln.Settlement = "t1_pending"
			case mo.primary == PostT1Pending:
				ln.Settlement = "t1_credited"
			}
		}
		switch {
		case e.RespCode != "00":
			ln.Settlement = "declined"
			st.DeclinedCount++
		case undone:
			ln.Settlement = "reversed"
		}
		if e.RespCode == "00" && e.Kind.credits() {
			st.Count++
			st.Gross += e.Amount
		}
		st.Lines = append(st.Lines, ln)
	}
	if err := rows.Err(); err != nil {
		return Statement{}, l.readErr("reading statement", err)
	}
	return st, nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
