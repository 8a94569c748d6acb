package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// Discrepancy kinds.
const (
	MissingAtHost     = "missing_at_host"     // the terminal has an approval the host has not
	MissingAtTerminal = "missing_at_terminal" // the host approved what the terminal lacks
	AmountMismatch    = "amount_mismatch"
	Duplicate         = "duplicate"          // a key twice in the batch, or approved twice at the host
	UnreversedTimeout = "unreversed_timeout" // the terminal timed out, the host approved and nothing reversed it
)

// BatchItem is one transaction as the terminal's batch holds it.
type BatchItem struct {
	Key      Key
	Amount   int64
	Kind     Kind
	RespCode string
	TimedOut bool // the terminal got no answer
}

// Discrepancy is one difference between a terminal's batch and the journal.
type Discrepancy struct {
	Kind           string
	Key            Key
	TerminalAmount int64
	HostAmount     int64
	Detail         string
}

// Totals are a batch's approved sales and refunds net of voids and
// reversals: what an ISO 8583 0500 carries (fields 74/76 counts, 86/88
// amounts).
type Totals struct {
	SaleCount    int
	SaleAmount   int64
	RefundCount  int
	RefundAmount int64
}

// A terminal's batch is found through the unique key's tid prefix (see the
// schema): the reads scan the terminal's entries, once per settlement.
const (
	batchTotalsSQL = `SELECT kind, COUNT(*), SUM(amount) FROM entries
		WHERE tid = ? AND batch = ? AND resp = '00' AND undone_by IS NULL
		AND kind IN ('sale', 'qr', 'completion', 'advice', 'refund') GROUP BY kind`
	batchEntriesSQL = hostEntrySelect + `WHERE e.tid = ? AND e.batch = ? AND e.resp = '00'
		AND e.kind NOT IN ('reversal', 'balance', 'preauth') ORDER BY e.time_ns, e.id`
)

// BatchTotals sums the terminal tid's batch as the host journaled it.
func (l *Ledger) BatchTotals(ctx context.Context, tid, batch string) (Totals, error) {
	rows, err := l.rdb.QueryContext(ctx, batchTotalsSQL, tid, batch)
	if err != nil {
		return Totals{}, l.readErr("reading batch totals", err)
	}
	defer rows.Close()
	var t Totals
	for rows.Next() {
		var k Kind
		var n int
		var sum int64
		if err := rows.Scan(&k, &n, &sum); err != nil {
			return Totals{}, l.readErr("reading batch totals", err)
		}
		if k == KindRefund {
			t.RefundCount, t.RefundAmount = t.RefundCount+n, t.RefundAmount+sum
		} else {
			t.SaleCount, t.SaleAmount = t.SaleCount+n, t.SaleAmount+sum
		}
	}
	if err := rows.Err(); err != nil {
		return Totals{}, l.readErr("reading batch totals", err)
	}
	return t, nil
}

// hostEntry is a journal entry with what happened to it since.
type hostEntry struct {
	Entry
	id       int64
	undoneBy Kind // "" while it stands
}

// Discrepancies compares the terminal tid's batch with the journal. The
// host side in scope is the batch (or batches) the journal files the items'
// transactions under; see DiscrepanciesInBatch to name the batch.
func (l *Ledger) Discrepancies(ctx context.Context, tid string, batch []BatchItem) ([]Discrepancy, error) {
	return l.discrepancies(ctx, tid, nil, batch)
}

// DiscrepanciesInBatch is Discrepancies with the host side scoped to the
// batch number the terminal settles (field 60), so a batch whose every item
// is unknown to the host still finds what the host holds.
func (l *Ledger) DiscrepanciesInBatch(ctx context.Context, tid, batchNo string, batch []BatchItem) ([]Discrepancy, error) {
	return l.discrepancies(ctx, tid, []string{batchNo}, batch)
}

const hostEntrySelect = `SELECT e.id, COALESCE(u.kind, ''), ` + `e.tid, e.stan, e.date, e.mti, e.proc, e.kind, e.merchant,
	e.pan, e.card_ref, e.method, e.amount, e.currency, e.resp, e.auth, e.rrn, e.batch, e.orig_tid, e.orig_stan,
	e.orig_date, e.time_ns FROM entries e LEFT JOIN entries u ON u.id = e.undone_by `

func scanHostEntry(rows *sql.Rows) (*hostEntry, error) {
	h := &hostEntry{}
	var undone string
	e, err := scanEntry(scanFunc(func(dest ...any) error {
		return rows.Scan(append([]any{&h.id, &undone}, dest...)...)
	}))
	h.Entry, h.undoneBy = e, Kind(undone)
	return h, err
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func (l *Ledger) discrepancies(ctx context.Context, tid string, batches []string, items []BatchItem) ([]Discrepancy, error) {
	fail := func(err error) ([]Discrepancy, error) { return nil, l.readErr("comparing batch of "+tid, err) }

	// The host's financial entries under the items' keys, an approved one first.
	byKey := map[Key]*hostEntry{}
	scope := map[string]bool{}
	for _, b := range batches {
		scope[b] = true
	}
	for _, it := range items {
		if _, done := byKey[it.Key]; done {
			continue
		}
		rows, err := l.rdb.QueryContext(ctx, hostEntrySelect+`WHERE e.tid = ? AND e.stan = ? AND e.date = ?
			AND e.kind NOT IN ('reversal', 'balance') ORDER BY e.resp = '00' DESC, e.id LIMIT 1`,
			it.Key.TID, it.Key.STAN, it.Key.Date)
		if err != nil {
			return fail(err)
		}
		if rows.Next() {
			h, err := scanHostEntry(rows)
			if err != nil {
				rows.Close()
				return fail(err)
			}
			byKey[it.Key] = h
			if batches == nil && h.RespCode == "00" && h.Key.TID == tid {
				scope[h.Batch] = true
			}
		} else {
			byKey[it.Key] = nil
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fail(err)
		}
	}

	// Every approved financial entry of the batches in scope.
	var inScope []*hostEntry
	scopeList := make([]string, 0, len(scope))
	for b := range scope {
		scopeList = append(scopeList, b)
	}
	sort.Strings(scopeList)
	for _, b := range scopeList {
		rows, err := l.rdb.QueryContext(ctx, batchEntriesSQL, tid, b)
		if err != nil {
			return fail(err)
		}
		for rows.Next() {
			h, err := scanHostEntry(rows)
			if err != nil {
				rows.Close()
				return fail(err)
			}
			inScope = append(inScope, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fail(err)
		}
	}

	var out []Discrepancy
	seen := map[Key]int{}
	for _, it := range items {
		seen[it.Key]++
		if seen[it.Key] > 1 {
			out = append(out, Discrepancy{Kind: Duplicate, Key: it.Key, TerminalAmount: it.Amount,
				Detail: fmt.Sprintf("key appears %d times in the terminal's batch", seen[it.Key])})
			continue
		}
		h := byKey[it.Key]
		hostApproved := h != nil && h.RespCode == "00"
		stands := hostApproved && h.undoneBy == ""
		d := Discrepancy{Key: it.Key, TerminalAmount: it.Amount}
		if hostApproved {
			d.HostAmount = h.Amount
		}
		switch {
		case it.TimedOut:
			if stands {
				d.Kind, d.Detail = UnreversedTimeout, "the terminal got no answer; the host approved and nothing reversed it"
				out = append(out, d)
			}
		case it.RespCode != "00":
			if stands {
				d.Kind, d.Detail = MissingAtTerminal, fmt.Sprintf("the terminal recorded response %q; the host approved", it.RespCode)
				out = append(out, d)
			}
		case h == nil:
			d.Kind, d.Detail = MissingAtHost, "no such transaction in the journal"
			out = append(out, d)
		case !hostApproved:
			d.Kind, d.Detail = MissingAtHost, fmt.Sprintf("the host declined it (response %s)", h.RespCode)
			out = append(out, d)
		case h.undoneBy == KindReversal:
			d.Kind, d.Detail = MissingAtHost, "reversed at the host"
			out = append(out, d)
		case it.Amount != h.Amount:
			d.Kind, d.Detail = AmountMismatch, fmt.Sprintf("terminal %d, host %d", it.Amount, h.Amount)
			out = append(out, d)
		}
	}

	// The host's side: approved twice under one key, or not in the batch.
	perKey := map[Key][]*hostEntry{}
	for _, h := range inScope {
		perKey[h.Key] = append(perKey[h.Key], h)
	}
	reported := map[Key]bool{}
	for _, h := range inScope {
		if hs := perKey[h.Key]; len(hs) > 1 && !reported[h.Key] {
			reported[h.Key] = true
			mtis := make([]string, len(hs))
			for i, x := range hs {
				mtis[i] = x.MTI
			}
			out = append(out, Discrepancy{Kind: Duplicate, Key: h.Key, HostAmount: h.Amount,
				Detail: "approved more than once at the host (MTI " + strings.Join(mtis, ", ") + ")"})
		}
		if _, inBatch := seen[h.Key]; inBatch || h.undoneBy == KindReversal {
			continue
		}
		out = append(out, Discrepancy{Kind: MissingAtTerminal, Key: h.Key, HostAmount: h.Amount,
			Detail: fmt.Sprintf("%s approved at the host in batch %s, not in the terminal's batch", h.Kind, h.Batch)})
	}
	return out, nil
}
