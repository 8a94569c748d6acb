package ledger

import (
	"context"
	"fmt"
	"github.com/possim/possim/internal/pgtest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Several hosts on one PostgreSQL ledger: each its own Ledger (its own
// committer and caches) on the same database, racing.

// eachMode runs a test with row and key locks (the default) and with
// serializable transactions.
func eachMode(t *testing.T, f func(t *testing.T, opts Options)) {
	t.Run("locks", func(t *testing.T) { f(t, Options{}) })
	t.Run("serializable", func(t *testing.T) { f(t, Options{Serializable: true}) })
}

// openPair opens two ledgers on one fresh PostgreSQL schema.
func openPair(t testing.TB, opts Options) (*Ledger, *Ledger) {
	t.Helper()
	dsn := pgtest.Schema(t)
	var ls [2]*Ledger
	for i := range ls {
		l, err := Open(context.Background(), dsn, opts)
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { l.Close() })
		ls[i] = l
	}
	if err := ls[0].PutMerchant(context.Background(), demoMerchant()); err != nil {
		t.Fatal(err)
	}
	if err := ls[1].PutMerchant(context.Background(), demoMerchant()); err != nil {
		t.Fatal(err)
	}
	return ls[0], ls[1]
}

// race runs f(i, l) for i in [0, n) on both ledgers at once, alternating.
func race(t *testing.T, a, b *Ledger, n int, f func(i int, l *Ledger) (Result, error)) []Result {
	t.Helper()
	out := make([]Result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			<-start
			r, err := f(i, l)
			if err != nil {
				t.Errorf("%d: %v", i, err)
			}
			out[i] = r
		})
	}
	close(start)
	wg.Wait()
	return out
}

func TestTwoHostsDuplicateJournaledOnce(t *testing.T) {
	eachMode(t, testTwoHostsDuplicateJournaledOnce)
}

func testTwoHostsDuplicateJournaledOnce(t *testing.T, opts Options) {
	a, b := openPair(t, opts)
	const n = 40
	for round := range 5 {
		s := sale(round+1, 10000, t0)
		rs := race(t, a, b, n, func(_ int, l *Ledger) (Result, error) { return l.Record(context.Background(), s) })
		fresh := 0
		for _, r := range rs {
			if !r.Duplicate {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("round %d: %d of %d copies journaled anew, want 1", round, fresh, n)
		}
	}
	if got, want := balance(t, a, mid), int64(5*9940); got != want {
		t.Errorf("balance %d, want %d", got, want)
	}
	mustVerify(t, a)
}

func TestTwoHostsD0DailyLimit(t *testing.T) { eachMode(t, testTwoHostsD0DailyLimit) }

func testTwoHostsD0DailyLimit(t *testing.T, opts Options) {
	ctx := context.Background()
	a, b := openPair(t, opts)
	m := demoMerchant()
	m.RealtimePerTxn, m.RealtimeDaily = 10000, 100000 // ten sales of 100.00
	if err := a.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	const n = 60
	rs := race(t, a, b, n, func(i int, l *Ledger) (Result, error) {
		return l.Record(ctx, sale(i+1, 10000, t0.Add(time.Duration(i)*time.Millisecond)))
	})
	d0 := 0
	for _, r := range rs {
		if len(r.Postings) == 1 && r.Postings[0].Type == PostD0Credit {
			d0++
		}
	}
	if d0 != 10 {
		t.Errorf("%d sales credited D0 across two hosts, want exactly 10 (the daily limit)", d0)
	}
	mustVerify(t, a)
}

func TestTwoHostsReversalFindsSale(t *testing.T) { eachMode(t, testTwoHostsReversalFindsSale) }

func testTwoHostsReversalFindsSale(t *testing.T, opts Options) {
	ctx := context.Background()
	a, b := openPair(t, opts)
	const n = 30
	// Each sale at one host, its reversal at the other, at the same moment:
	// sometimes the reversal comes first and must wait for the sale.
	var wg sync.WaitGroup
	for i := range n {
		s := sale(i+1, 1000, t0)
		wg.Go(func() {
			if _, err := a.Record(ctx, s); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := b.Record(ctx, reversalOf(s, t0)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := balance(t, a, mid); got != 0 {
		t.Errorf("balance %d after every sale was reversed, want 0", got)
	}
	for i := range n {
		e, ok, err := b.Lookup(ctx, sale(i+1, 0, t0).Key)
		if err != nil || !ok {
			t.Fatalf("sale %d: %v %v", i+1, ok, err)
		}
		_ = e
	}
	mustVerify(t, a)
}

func TestTwoHostsCardLimit(t *testing.T) { eachMode(t, testTwoHostsCardLimit) }

func testTwoHostsCardLimit(t *testing.T, opts Options) {
	ctx := context.Background()
	a, b := openPair(t, opts)
	const n = 40
	rs := race(t, a, b, n, func(i int, l *Ledger) (Result, error) {
		e := sale(i+1, 1000, t0)
		e.Card = &CardLimits{Limit: 10000, Daily: 8}
		return l.Record(ctx, e)
	})
	approved := 0
	for _, r := range rs {
		if r.Refused == "" {
			approved++
		} else if r.RespCode != "65" && r.RespCode != "51" {
			t.Errorf("refused %s with %s", r.Refused, r.RespCode)
		}
	}
	if approved != 8 {
		t.Errorf("%d sales of one card approved across two hosts, want 8 (its daily count)", approved)
	}
	u, err := a.CardUsage(ctx, "card-visa", t0)
	if err != nil || u.DayCount != 8 || u.Spent != 8000 {
		t.Errorf("card usage %+v %v, want 8 debits of 8000", u, err)
	}
}

// TestCardLimits: the committer's card check on either engine, one host.
func TestCardLimits(t *testing.T) { eachBackend(t, testCardLimits) }

func testCardLimits(t *testing.T) {
	l, _ := openLedger(t, Options{})
	lim := &CardLimits{Limit: 5000, Daily: 2}
	for i, c := range []struct {
		amount int64
		code   string
	}{{3000, ""}, {2500, "51"}, {2000, ""}, {1, "65"}} {
		e := sale(i+1, c.amount, t0)
		e.Card = lim
		r := record(t, l, e)
		if r.RespCode != c.code {
			t.Errorf("sale %d of %d: refused %q code %q, want %q", i+1, c.amount, r.Refused, r.RespCode, c.code)
		}
	}
	if got := fmt.Sprint(balance(t, l, mid)); got != "4970" {
		t.Errorf("balance %s, want 4970 (two sales)", got)
	}
	mustVerify(t, l)
}

// BenchmarkTwoHosts is two hosts' committers journaling sales of one
// merchant (D0, the contended row) from 32 terminals with their own cards,
// card limits checked by the committer as a shared host asks: row and key
// locks against serializable transactions with retries.
func BenchmarkTwoHosts(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts Options
	}{{"locks", Options{}}, {"serializable", Options{Serializable: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			x, y := openPair(b, mode.opts)
			benchPair(b, x, y)
		})
	}
}

func benchPair(b *testing.B, x, y *Ledger) {
	ctx := context.Background()
	m := demoMerchant()
	m.RealtimeDaily, m.RealtimePerTxn = 0, 0
	if err := x.PutMerchant(ctx, m); err != nil {
		b.Fatal(err)
	}
	const terms = 32
	var wg sync.WaitGroup
	var next sync.Mutex
	n := 0
	b.ResetTimer()
	for g := range terms {
		l := x
		if g%2 == 1 {
			l = y
		}
		wg.Go(func() {
			for {
				next.Lock()
				i := n
				n++
				next.Unlock()
				if i >= b.N {
					return
				}
				e := sale(i%999999+1, 100, t0)
				e.Key.TID = fmt.Sprintf("T%07d", g)
				e.Key.STAN = fmt.Sprintf("%06d", i/terms%999999+1)
				e.CardRef = fmt.Sprintf("card-%d", g)
				e.Card = &CardLimits{Limit: 1 << 40, Daily: 1 << 30}
				if _, err := l.Record(ctx, e); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestPINTries: wrong PINs counted at two hosts at once all count.
func TestPINTries(t *testing.T) { eachBackend(t, testPINTries) }

func testPINTries(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	m := l
	if onPostgres(t) {
		var err error
		if m, err = Open(ctx, l.dsn, Options{}); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
	}
	var wg sync.WaitGroup
	for i := range 10 {
		h := l
		if i%2 == 1 {
			h = m
		}
		wg.Go(func() {
			if _, err := h.AddPINTry(ctx, "card-a", t0); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, err := m.PINTries(ctx, "card-a"); err != nil || n != 10 {
		t.Errorf("PINTries = %d %v, want 10", n, err)
	}
	if err := l.SetPINTries(ctx, "card-a", 0, t0); err != nil {
		t.Fatal(err)
	}
	if n, err := m.PINTries(ctx, "card-a"); err != nil || n != 0 {
		t.Errorf("after reset: PINTries = %d %v, want 0", n, err)
	}
}

// TestVoidWhileOtherHostCutsOff: a void reads its sale's pending posting,
// and another host's cut-off credits that posting before the void closes
// it. The void must take the credit back rather than cancel a posting
// already settled.
func TestVoidWhileOtherHostCutsOff(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("application_name", "possim-void-race")
	u.RawQuery = q.Encode()
	l, err := Open(ctx, u.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := demoMerchant()
	m.Mode = T1
	if err := l.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	s := sale(1, 10000, t0)
	record(t, l, s)

	// The other host's cut-off, held open: the pending posting closed and
	// credited, not yet committed.
	raw := rawDB(t, dsn)
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`INSERT INTO postings (merchant, entry_id, origin, type, gross, fee, net, bps, time_ns, ref, open)
			SELECT merchant, entry_id, origin, 't1_credit', gross, fee, net, bps, time_ns, id, 0
			FROM postings WHERE type = 't1_pending'`,
		`UPDATE merchants SET balance = balance + (SELECT net FROM postings WHERE type = 't1_pending')`,
		`UPDATE postings SET open = 0 WHERE type = 't1_pending'`,
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan Result, 1)
	go func() {
		r, err := l.Record(ctx, voidOf(2, s, t0))
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	// Commit once the void waits on the posting's row lock.
	for i := 0; ; i++ {
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity
			WHERE application_name = 'possim-void-race' AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if i == 500 {
			t.Fatal("the void never waited for the cut-off's lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if got := types(r.Postings); len(got) != 1 || r.Postings[0].Type != PostReverseD0 {
		t.Errorf("void after the cut-off credited the sale: postings %v, want one reverse_d0", got)
	}
	if b := balance(t, l, mid); b != 0 {
		t.Errorf("balance %d after the void, want 0", b)
	}
	mustVerify(t, l)
}
