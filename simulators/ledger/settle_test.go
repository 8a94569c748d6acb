package ledger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFee(t *testing.T) {
	for _, c := range []struct{ amount, bps, want int64 }{
		{10000, 60, 60}, {10000, 38, 38}, {1, 60, 0}, {83, 60, 0}, {84, 60, 1},
		{250, 38, 1}, {131, 38, 0}, {132, 38, 1}, {-10000, 60, -60}, {0, 60, 0},
	} {
		if got := Fee(c.amount, c.bps); got != c.want {
			t.Errorf("Fee(%d, %d) = %d, want %d", c.amount, c.bps, got, c.want)
		}
	}
}

// The figures of the issue: what a 100.00 sale puts on the account.
func TestSettlementFigures(t *testing.T) { eachBackend(t, testSettlementFigures) }

func testSettlementFigures(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name      string
		merchant  func(*Merchant)
		entry     Entry
		want      []string
		balance   int64
		afterCut  int64
		cutPosted []string
	}{
		{name: "card sale D0", entry: sale(1, 10000, t0),
			want: []string{"d0_credit 10000/60/9940"}, balance: 9940, afterCut: 9940},
		{name: "QR sale D0", entry: qrSale(1, 10000, t0),
			want: []string{"d0_credit 10000/38/9962"}, balance: 9962, afterCut: 9962},
		{name: "above per-transaction limit", entry: sale(1, 5_000_001, t0),
			want:    []string{"t1_pending 5000001/30000/4970001"},
			balance: 0, afterCut: 4970001, cutPosted: []string{"t1_credit 5000001/30000/4970001"}},
		{name: "application pending", merchant: func(m *Merchant) { m.Realtime = RealtimePending },
			entry: sale(1, 10000, t0), want: []string{"t1_pending 10000/60/9940"},
			balance: 0, afterCut: 9940, cutPosted: []string{"t1_credit 10000/60/9940"}},
		{name: "application rejected", merchant: func(m *Merchant) { m.Realtime = RealtimeRejected },
			entry: qrSale(1, 10000, t0), want: []string{"t1_pending 10000/38/9962"},
			balance: 0, afterCut: 9962, cutPosted: []string{"t1_credit 10000/38/9962"}},
		{name: "T+1 merchant", merchant: func(m *Merchant) { m.Mode = T1 },
			entry: sale(1, 10000, t0), want: []string{"t1_pending 10000/60/9940"},
			balance: 0, afterCut: 9940, cutPosted: []string{"t1_credit 10000/60/9940"}},
		{name: "default fees", merchant: func(m *Merchant) { m.CardFeeBPS, m.QRFeeBPS = 0, 0 },
			entry: sale(1, 10000, t0), want: []string{"d0_credit 10000/60/9940"}, balance: 9940, afterCut: 9940},
		{name: "merchant's own rate", merchant: func(m *Merchant) { m.CardFeeBPS = 55 },
			entry: sale(1, 12345, t0), want: []string{"d0_credit 12345/68/12277"}, balance: 12277, afterCut: 12277},
		{name: "decline posts nothing", entry: func() Entry { e := sale(1, 10000, t0); e.RespCode = "51"; return e }(),
			balance: 0, afterCut: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, _ := openLedger(t, Options{})
			if c.merchant != nil {
				m := demoMerchant()
				c.merchant(&m)
				if err := l.PutMerchant(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			r := record(t, l, c.entry)
			if diff := cmp.Diff(c.want, types(r.Postings)); diff != "" {
				t.Errorf("postings (-want +got):\n%s", diff)
			}
			if got := balance(t, l, mid); got != c.balance {
				t.Errorf("balance = %d, want %d", got, c.balance)
			}
			// A cut-off the day before credits nothing; the day's cut-off credits the pending.
			if ps, err := l.CutOff(ctx, t0.AddDate(0, 0, -1)); err != nil || len(ps) != 0 {
				t.Errorf("CutOff(yesterday) = %v, %v; want nothing", ps, err)
			}
			ps, err := l.CutOff(ctx, t0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.cutPosted, types(ps)); diff != "" {
				t.Errorf("cut-off postings (-want +got):\n%s", diff)
			}
			if got := balance(t, l, mid); got != c.afterCut {
				t.Errorf("balance after cut-off = %d, want %d", got, c.afterCut)
			}
			if ps, _ := l.CutOff(ctx, t0); len(ps) != 0 {
				t.Errorf("second cut-off posted %v", types(ps))
			}
			mustVerify(t, l)
		})
	}
}

func TestDailyRealtimeLimit(t *testing.T) { eachBackend(t, testDailyRealtimeLimit) }

func testDailyRealtimeLimit(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	m := demoMerchant()
	m.RealtimePerTxn, m.RealtimeDaily = 20000, 30000
	if err := l.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	want := []string{PostD0Credit, PostD0Credit, PostT1Pending, PostT1Pending}
	amounts := []int64{20000, 10000, 100, 25000}
	for i, a := range amounts {
		r := record(t, l, sale(i+1, a, t0.Add(time.Duration(i)*time.Minute)))
		if len(r.Postings) != 1 || r.Postings[0].Type != want[i] {
			t.Errorf("sale %d of %d: postings %v, want %s", i+1, a, types(r.Postings), want[i])
		}
	}
	// The limit is per calendar day: the next morning D0 again.
	r := record(t, l, sale(10, 20000, dayStart(t0).AddDate(0, 0, 1).Add(time.Hour)))
	if r.Postings[0].Type != PostD0Credit {
		t.Errorf("next day: %v, want d0_credit", types(r.Postings))
	}
	// The limit survives a restart (the day's usage is read back from the postings).
	l2 := reopen(t, l)
	r = record(t, l2, sale(11, 10001, dayStart(t0).AddDate(0, 0, 1).Add(2*time.Hour)))
	if r.Postings[0].Type != PostT1Pending {
		t.Errorf("after reopen, over the daily limit: %v, want t1_pending", types(r.Postings))
	}
	mustVerify(t, l2)
}

func TestReversalAppliedOnce(t *testing.T) { eachBackend(t, testReversalAppliedOnce) }

func testReversalAppliedOnce(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	s := sale(7, 10000, t0)
	record(t, l, s)
	rev := reversalOf(s, t0.Add(time.Minute))
	r := record(t, l, rev)
	if r.OrigNotFound || r.AlreadyReversed || len(r.Postings) != 1 || r.Postings[0].Type != PostReverseD0 {
		t.Fatalf("first reversal: %+v", r)
	}
	if got := balance(t, l, mid); got != 0 {
		t.Errorf("balance after reversal = %d, want 0", got)
	}
	// A repeat (0401) is the same request: a duplicate.
	rep := rev
	rep.MTI = "0401"
	if r := record(t, l, rep); !r.Duplicate || r.Existing == nil || r.Existing.MTI != "0400" || len(r.Postings) != 0 {
		t.Errorf("repeat: %+v", r)
	}
	// A reversal advice for the same sale is a new request that finds it reversed.
	adv := rev
	adv.MTI = "0420"
	if r := record(t, l, adv); !r.AlreadyReversed || len(r.Postings) != 0 {
		t.Errorf("advice after reversal: %+v", r)
	}
	// A void of it too.
	if r := record(t, l, voidOf(8, s, t0.Add(2*time.Minute))); !r.AlreadyReversed || len(r.Postings) != 0 {
		t.Errorf("void after reversal: %+v", r)
	}
	// A reversal of nothing.
	ghost := reversalOf(sale(99, 500, t0), t0)
	if r := record(t, l, ghost); !r.OrigNotFound || len(r.Postings) != 0 {
		t.Errorf("reversal of unknown sale: %+v", r)
	}
	// A reversal of a declined sale reverses nothing.
	d := sale(50, 500, t0)
	d.RespCode = "51"
	record(t, l, d)
	if r := record(t, l, reversalOf(d, t0)); !r.OrigNotFound {
		t.Errorf("reversal of a decline: %+v", r)
	}
	if got := balance(t, l, mid); got != 0 {
		t.Errorf("balance = %d, want 0", got)
	}
	if e, ok, err := l.Lookup(ctx, s.Key); err != nil || !ok || e.Kind != KindSale || e.Amount != 10000 {
		t.Errorf("Lookup original = %+v, %v, %v", e, ok, err)
	}
	mustVerify(t, l)
}

func TestVoidPostsBack(t *testing.T) { eachBackend(t, testVoidPostsBack) }

func testVoidPostsBack(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	s := sale(1, 10000, t0)
	record(t, l, s)
	v := voidOf(2, s, t0.Add(time.Minute))
	r := record(t, l, v)
	if diff := cmp.Diff([]string{"reverse_d0 10000/60/9940"}, types(r.Postings)); diff != "" {
		t.Errorf("void of a D0 sale (-want +got):\n%s", diff)
	}
	if got := balance(t, l, mid); got != 0 {
		t.Errorf("balance after void = %d, want 0", got)
	}
	// The void timed out at the terminal, which reverses it: the sale stands again.
	r = record(t, l, reversalOf(v, t0.Add(2*time.Minute)))
	if diff := cmp.Diff([]string{"reverse_d0 -10000/-60/-9940"}, types(r.Postings)); diff != "" {
		t.Errorf("reversal of the void (-want +got):\n%s", diff)
	}
	if got := balance(t, l, mid); got != 9940 {
		t.Errorf("balance after reversing the void = %d, want 9940", got)
	}
	// And it can be voided again, once.
	record(t, l, voidOf(3, s, t0.Add(3*time.Minute)))
	if got := balance(t, l, mid); got != 0 {
		t.Errorf("balance after second void = %d, want 0", got)
	}
	mustVerify(t, l)

	// A void of a pending T+1 sale cancels the pending posting; the cut-off credits nothing.
	big := sale(10, 6_000_000, t0)
	record(t, l, big)
	r = record(t, l, voidOf(11, big, t0.Add(time.Minute)))
	if diff := cmp.Diff([]string{"cancel_t1 6000000/36000/5964000"}, types(r.Postings)); diff != "" {
		t.Errorf("void of a pending sale (-want +got):\n%s", diff)
	}
	if ps, err := l.CutOff(ctx, t0); err != nil || len(ps) != 0 {
		t.Errorf("CutOff = %v, %v; want nothing", types(ps), err)
	}
	// A sale credited at cut-off and reversed later is taken back from the account.
	big2 := sale(12, 6_000_000, t0)
	record(t, l, big2)
	if _, err := l.CutOff(ctx, t0); err != nil {
		t.Fatal(err)
	}
	r = record(t, l, reversalOf(big2, t0.AddDate(0, 0, 1)))
	if diff := cmp.Diff([]string{"reverse_d0 6000000/36000/5964000"}, types(r.Postings)); diff != "" {
		t.Errorf("reversal after cut-off (-want +got):\n%s", diff)
	}
	if got := balance(t, l, mid); got != 0 {
		t.Errorf("balance = %d, want 0", got)
	}
	mustVerify(t, l)
}

func TestRefund(t *testing.T) { eachBackend(t, testRefund) }

func testRefund(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	s := sale(1, 10000, t0)
	record(t, l, s)
	f := sale(2, 4000, t0.Add(time.Hour))
	f.Kind, f.ProcCode, f.Orig = KindRefund, "200000", &s.Key
	r := record(t, l, f)
	if diff := cmp.Diff([]string{"reverse_d0 4000/24/3976"}, types(r.Postings)); diff != "" {
		t.Errorf("refund (-want +got):\n%s", diff)
	}
	if got := balance(t, l, mid); got != 9940-3976 {
		t.Errorf("balance = %d, want %d", got, 9940-3976)
	}
	u, err := l.CardUsage(ctx, "card-visa", t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Usage{Spent: 6000, DayAmount: 10000, DayCount: 1}); u != want {
		t.Errorf("card usage = %+v, want %+v", u, want)
	}
	// A T+1 merchant's refund is netted at the cut-off.
	m := demoMerchant()
	m.Mode = T1
	if err := l.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	f2 := f
	f2.Key.STAN, f2.Amount = "000003", 1000
	r = record(t, l, f2)
	if diff := cmp.Diff([]string{"t1_pending -1000/-6/-994"}, types(r.Postings)); diff != "" {
		t.Errorf("T+1 refund (-want +got):\n%s", diff)
	}
	ps, err := l.CutOff(ctx, t0)
	if err != nil || len(ps) != 1 || ps[0].Net != -994 {
		t.Errorf("CutOff = %v, %v", types(ps), err)
	}
	mustVerify(t, l)
}

func TestDuplicateIsIdempotent(t *testing.T) { eachBackend(t, testDuplicateIsIdempotent) }

func testDuplicateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	s := sale(1, 10000, t0)
	first := record(t, l, s)
	again := s
	again.MTI = "0201" // a repeat
	again.Amount = 1   // what the duplicate claims does not matter
	r := record(t, l, again)
	if !r.Duplicate || len(r.Postings) != 0 || r.Existing == nil {
		t.Fatalf("duplicate: %+v", r)
	}
	want := s
	if diff := cmp.Diff(want, *r.Existing, cmpTime); diff != "" {
		t.Errorf("existing entry (-want +got):\n%s", diff)
	}
	if len(first.Postings) != 1 || balance(t, l, mid) != 9940 {
		t.Errorf("balance %d after duplicate", balance(t, l, mid))
	}
	if u, _ := l.CardUsage(ctx, "card-visa", t0); u.DayCount != 1 {
		t.Errorf("card counted %d times", u.DayCount)
	}
	mustVerify(t, l)
}

func TestRecordRefusesBadInput(t *testing.T) { eachBackend(t, testRecordRefusesBadInput) }

func testRecordRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	for name, mutate := range map[string]func(*Entry){
		"no TID":           func(e *Entry) { e.Key.TID = "" },
		"short MTI":        func(e *Entry) { e.MTI = "02" },
		"unknown kind":     func(e *Entry) { e.Kind = "gift" },
		"negative amount":  func(e *Entry) { e.Amount = -1 },
		"no time":          func(e *Entry) { e.Time = time.Time{} },
		"unknown merchant": func(e *Entry) { e.MerchantID = "nobody" },
	} {
		e := sale(1, 100, t0)
		mutate(&e)
		_, err := l.Record(ctx, e)
		if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrInvalid or ErrNotFound", name, err)
		}
	}
	// A refused entry in a batch spoils nothing: the good one is kept.
	record(t, l, sale(1, 100, t0))
	if _, ok, _ := l.Lookup(ctx, sale(1, 100, t0).Key); !ok {
		t.Error("good entry lost")
	}
	if err := l.PutMerchant(ctx, Merchant{ID: "x", Mode: "weekly"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutMerchant bad mode: %v", err)
	}
	if err := l.SetRealtime(ctx, "nobody", RealtimeApproved); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetRealtime unknown: %v", err)
	}
	if _, err := l.Merchant(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Merchant unknown: %v", err)
	}
	mustVerify(t, l)
}

func TestRealtimeOnboarding(t *testing.T) { eachBackend(t, testRealtimeOnboarding) }

func testRealtimeOnboarding(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	m := demoMerchant()
	m.Realtime = RealtimeNone
	if err := l.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		st   RealtimeStatus
		want string
	}{
		{RealtimeNone, PostT1Pending}, {RealtimePending, PostT1Pending}, {RealtimeApproved, PostD0Credit},
		{RealtimeRejected, PostT1Pending},
	}
	for i, s := range steps {
		if err := l.SetRealtime(ctx, mid, s.st); err != nil {
			t.Fatal(err)
		}
		got, err := l.Merchant(ctx, mid)
		if err != nil || got.Realtime != s.st {
			t.Fatalf("Merchant = %+v, %v", got, err)
		}
		r := record(t, l, sale(i+1, 1000, t0))
		if r.Postings[0].Type != s.want {
			t.Errorf("%s: %s, want %s", s.st, r.Postings[0].Type, s.want)
		}
	}
	if err := l.SetRealtime(ctx, mid, "maybe"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
}

// The terminal timed out and reversed before the host journaled the sale: the
// reversal waits, across a restart, and cancels the sale when it arrives.
func TestReversalBeforeOriginal(t *testing.T) { eachBackend(t, testReversalBeforeOriginal) }

func testReversalBeforeOriginal(t *testing.T) {
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	s := sale(1, 10000, t0)
	if r := record(t, l, reversalOf(s, t0.Add(time.Minute))); !r.OrigNotFound || len(r.Postings) != 0 {
		t.Fatalf("early reversal: %+v", r)
	}
	l = reopen(t, l)
	r := record(t, l, s)
	if !r.LateReversed {
		t.Errorf("sale not reversed on arrival: %+v", r)
	}
	if diff := cmp.Diff([]string{"d0_credit 10000/60/9940", "reverse_d0 10000/60/9940"}, types(r.Postings)); diff != "" {
		t.Errorf("postings (-want +got):\n%s", diff)
	}
	if got := balance(t, l, mid); got != 0 {
		t.Errorf("balance = %d, want 0", got)
	}
	if r := record(t, l, voidOf(2, s, t0.Add(2*time.Minute))); !r.AlreadyReversed {
		t.Errorf("void after late reversal: %+v", r)
	}
	// Only once: a second sale under another key is untouched.
	if r := record(t, l, sale(3, 10000, t0)); r.LateReversed {
		t.Errorf("unrelated sale reversed")
	}
	mustVerify(t, l)
}
