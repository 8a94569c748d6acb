package ledger

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStatementPeriods(t *testing.T) { eachBackend(t, testStatementPeriods) }

func testStatementPeriods(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	may14 := t0                                             // Thursday 14 May
	may2 := t0.AddDate(0, 0, -12)                           // same month
	apr20 := t0.AddDate(0, 0, -24)                          // same quarter, other month
	mar31 := time.Date(2026, 3, 31, 23, 59, 0, 0, shanghai) // previous quarter

	s1 := sale(1, 10000, may14)
	record(t, l, s1)                        // D0 9940
	record(t, l, qrSale(2, 10000, may14))   // D0 9962
	record(t, l, sale(3, 6_000_000, may14)) // T+1 pending 5964000
	declined := sale(4, 500, may14)
	declined.RespCode = "51"
	record(t, l, declined)
	s5 := sale(5, 20000, may14)
	record(t, l, s5)
	record(t, l, voidOf(6, s5, may14.Add(time.Minute))) // voided the same day
	ref := sale(7, 3000, may14.Add(2*time.Minute))
	ref.Kind, ref.ProcCode, ref.Orig = KindRefund, "200000", &s1.Key
	record(t, l, ref) // refund 3000, fee 18, net 2982
	record(t, l, sale(10, 5000, may2))
	record(t, l, sale(11, 7000, apr20))
	record(t, l, sale(12, 9000, mar31))
	// The last moment of 14 May belongs to it; midnight to the 15th.
	record(t, l, sale(13, 100, dayStart(may14).AddDate(0, 0, 1).Add(-time.Nanosecond)))
	record(t, l, sale(14, 100, dayStart(may14).AddDate(0, 0, 1)))

	day, err := l.Statement(ctx, mid, Day, may14)
	if err != nil {
		t.Fatal(err)
	}
	want := Statement{MerchantID: mid, Name: "Demo Mart", Period: Day,
		From: dayStart(may14), To: dayStart(may14).AddDate(0, 0, 1),
		Count: 5, Gross: 10000 + 10000 + 6_000_000 + 20000 + 100,
		Fees:        60 + 38 + 36000 + 120 - 120 - 18 + 1,
		SettledD0:   9940 + 9962 + 19880 - 19880 - 2982 + 99,
		PendingT1:   5964000,
		RefundCount: 1, Refunds: 3000,
		ReversalCount: 1, Reversals: 20000,
		DeclinedCount: 1,
	}
	want.Net = want.SettledD0 + want.PendingT1
	if diff := cmp.Diff(want, day, cmpTime, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Lines"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("day statement (-want +got):\n%s", diff)
	}
	settle := map[string]string{}
	for _, ln := range day.Lines {
		settle[ln.Key.STAN] = ln.Settlement
	}
	wantSettle := map[string]string{"000001": "d0", "000002": "d0", "000003": "t1_pending", "000004": "declined",
		"000005": "reversed", "000006": "", "000007": "d0", "000013": "d0"}
	if diff := cmp.Diff(wantSettle, settle); diff != "" {
		t.Errorf("line settlements (-want +got):\n%s", diff)
	}

	// After the cut-off the pending sale is settled T+1.
	if _, err := l.CutOff(ctx, may14.Add(11*time.Hour)); err != nil {
		t.Fatal(err)
	}
	day, _ = l.Statement(ctx, mid, Day, may14)
	if day.PendingT1 != 0 || day.SettledT1 != 5964000 {
		t.Errorf("after cut-off: pending %d, settled T+1 %d", day.PendingT1, day.SettledT1)
	}

	for _, c := range []struct {
		p     Period
		count int
		gross int64
		from  time.Time
	}{
		{Month, 5 + 1 + 1, day.Gross + 5000 + 100, time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)},
		{Quarter, 5 + 1 + 1 + 1, day.Gross + 5000 + 100 + 7000, time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai)},
	} {
		st, err := l.Statement(ctx, mid, c.p, may14)
		if err != nil {
			t.Fatal(err)
		}
		if st.Count != c.count || st.Gross != c.gross || !st.From.Equal(c.from) {
			t.Errorf("%s: count %d gross %d from %v; want %d %d %v", c.p, st.Count, st.Gross, st.From, c.count, c.gross, c.from)
		}
	}
	q1, _ := l.Statement(ctx, mid, Quarter, mar31)
	if q1.Count != 1 || q1.Gross != 9000 || !q1.To.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai)) {
		t.Errorf("Q1: %+v", q1)
	}
	if _, err := l.Statement(ctx, mid, "week", may14); !errors.Is(err, ErrInvalid) {
		t.Errorf("week: %v", err)
	}
	if _, err := l.Statement(ctx, "nobody", Day, may14); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown merchant: %v", err)
	}
	ps, err := l.Postings(ctx, mid, dayStart(may14), dayStart(may14).AddDate(0, 0, 1))
	if err != nil || len(ps) == 0 || ps[0].EntryKey != s1.Key {
		t.Errorf("Postings: %v %v", ps, err)
	}
	mustVerify(t, l)
}

func TestBatchTotals(t *testing.T) { eachBackend(t, testBatchTotals) }

func testBatchTotals(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	s1, s2, s3 := sale(1, 10000, t0), qrSale(2, 2000, t0), sale(3, 500, t0)
	for _, e := range []Entry{s1, s2, s3} {
		record(t, l, e)
	}
	record(t, l, voidOf(4, s3, t0))
	f := sale(5, 700, t0)
	f.Kind, f.ProcCode = KindRefund, "200000"
	record(t, l, f)
	d := sale(6, 900, t0)
	d.RespCode = "05"
	record(t, l, d)
	other := sale(7, 100, t0)
	other.Batch = "000002"
	record(t, l, other)

	got, err := l.BatchTotals(ctx, "TERM0001", "000001")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Totals{SaleCount: 2, SaleAmount: 12000, RefundCount: 1, RefundAmount: 700}); got != want {
		t.Errorf("BatchTotals = %+v, want %+v", got, want)
	}
}

// TestBatchReadsUseTheKeyIndex: the (tid, batch) index is gone from the
// commit path, and one left by an older version is dropped on open; the
// batch reads still seek by terminal instead of scanning the journal.
func TestBatchReadsUseTheKeyIndex(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	indexes := func() (n int) {
		t.Helper()
		if err := l.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master
			WHERE type = 'index' AND name = 'entries_tid_batch'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := indexes(); n != 0 {
		t.Fatalf("a new ledger has the (tid, batch) index")
	}
	if err := l.do(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(w.bg, "CREATE INDEX entries_tid_batch ON entries (tid, batch)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l)
	if n := indexes(); n != 0 {
		t.Errorf("the (tid, batch) index of an older ledger is still there after opening it")
	}
	for name, q := range map[string]string{"BatchTotals": batchTotalsSQL, "DiscrepanciesInBatch": batchEntriesSQL} {
		rows, err := l.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, "T1", "000001")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !slices.ContainsFunc(plan, func(d string) bool {
			return strings.HasPrefix(d, "SEARCH e USING INDEX sqlite_autoindex_entries_1 (tid=?)") ||
				strings.HasPrefix(d, "SEARCH entries USING INDEX sqlite_autoindex_entries_1 (tid=?)")
		}) {
			t.Errorf("%s does not seek the terminal in the key index: %q", name, plan)
		}
	}
}

func TestDiscrepancies(t *testing.T) { eachBackend(t, testDiscrepancies) }

func testDiscrepancies(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	ok1, ok2, ok3 := sale(1, 10000, t0), sale(2, 2000, t0), sale(3, 3000, t0)
	timedOut := sale(4, 4000, t0)       // approved, the terminal never heard
	timedOutRev := sale(5, 5000, t0)    // approved, timed out, reversed: fine
	onlyHost := sale(6, 6000, t0)       // host approved, the terminal lost it
	declinedAtHost := sale(8, 8000, t0) // host said 51, terminal says approved
	declinedAtHost.RespCode = "51"
	advice := ok3 // the same sale sent again as an advice and approved: charged twice
	advice.MTI, advice.Kind = "0220", KindAdvice
	for _, e := range []Entry{ok1, ok2, ok3, timedOut, timedOutRev, onlyHost, declinedAtHost, advice} {
		record(t, l, e)
	}
	record(t, l, reversalOf(timedOutRev, t0))

	item := func(e Entry, amount int64) BatchItem {
		return BatchItem{Key: e.Key, Amount: amount, Kind: e.Kind, RespCode: "00"}
	}
	batch := []BatchItem{
		item(ok1, 10000),
		item(ok2, 2200), // amount mismatch
		item(ok3, 3000),
		item(ok1, 10000), // duplicate
		{Key: timedOut.Key, Amount: 4000, Kind: KindSale, TimedOut: true},
		{Key: timedOutRev.Key, Amount: 5000, Kind: KindSale, TimedOut: true},
		item(sale(7, 0, t0), 7000), // missing at host
		item(declinedAtHost, 8000), // missing at host: declined there
	}
	ds, err := l.Discrepancies(ctx, "TERM0001", batch)
	if err != nil {
		t.Fatal(err)
	}
	type found struct {
		Kind string
		STAN string
	}
	var got []found
	for _, d := range ds {
		t.Logf("%s %s: terminal %d host %d: %s", d.Kind, d.Key, d.TerminalAmount, d.HostAmount, d.Detail)
		got = append(got, found{d.Kind, d.Key.STAN})
	}
	want := []found{
		{AmountMismatch, "000002"},
		{Duplicate, "000001"},
		{UnreversedTimeout, "000004"},
		{MissingAtHost, "000007"},
		{MissingAtHost, "000008"},
		{Duplicate, "000003"},
		{MissingAtTerminal, "000006"},
	}
	less := func(a, b found) bool { return a.Kind+a.STAN < b.Kind+b.STAN }
	sort.Slice(got, func(i, j int) bool { return less(got[i], got[j]) })
	sort.Slice(want, func(i, j int) bool { return less(want[i], want[j]) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discrepancies (-want +got):\n%s", diff)
	}

	// A clean batch has none.
	clean := []BatchItem{item(ok1, 10000), item(ok2, 2000), item(onlyHost, 6000), item(timedOut, 4000)}
	ds, err = l.DiscrepanciesInBatch(ctx, "TERM0001", "000001", clean)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Key != ok3.Key { // ok3 is still double-charged and missing from this batch
			t.Errorf("clean batch: %+v", d)
		}
	}
}

func TestCardUsage(t *testing.T) { eachBackend(t, testCardUsage) }

func testCardUsage(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	a := sale(1, 10000, t0)
	record(t, l, a)
	b := sale(2, 5000, t0.Add(time.Hour))
	record(t, l, b)
	record(t, l, sale(3, 700, t0.AddDate(0, 0, -1)))
	d := sale(4, 900, t0)
	d.RespCode = "51"
	record(t, l, d)
	record(t, l, reversalOf(b, t0.Add(2*time.Hour)))
	other := sale(5, 100, t0)
	other.CardRef = "card-mc"
	record(t, l, other)

	u, err := l.CardUsage(ctx, "card-visa", t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Usage{Spent: 10700, DayAmount: 10000, DayCount: 1}); u != want {
		t.Errorf("usage = %+v, want %+v", u, want)
	}
	if u, _ := l.CardUsage(ctx, "card-unknown", t0); u != (Usage{}) {
		t.Errorf("unknown card: %+v", u)
	}
}
