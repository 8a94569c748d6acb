package ledger

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestRandomHistoryMatchesModel runs a seeded random mix of sales, refunds
// (unreferenced, and by reference of any entry, within or beyond what is left
// of it), voids, reversals (of sales and of voids), onboarding and
// unreferenced refund limit changes, cut-offs and restarts, and checks the
// final balance against a plain model and the invariants with Verify. The
// ledger journals what the host approved, so an unreferenced refund above the
// merchant's limit is kept, and Verify names exactly those.
func TestRandomHistoryMatchesModel(t *testing.T) { eachBackend(t, testRandomHistoryMatchesModel) }

func testRandomHistoryMatchesModel(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	l, _ := openLedger(t, Options{Synchronous: "NORMAL", MaxBatch: 8})
	m := demoMerchant()
	m.RealtimePerTxn, m.RealtimeDaily = 50000, 200000
	m.UnreferencedRefundLimit = 2500
	limit := m.UnreferencedRefundLimit
	if err := l.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}

	type rec struct {
		e       Entry
		contrib int64 // what it adds to the merchant once settled, while it stands
		live    bool
		target  int // for an applied void or refund by reference: the index of its sale; -1 otherwise
		// for a sale: its refunds by reference that stand
		refunded int64
	}
	var hist []*rec
	stan := 0
	now := t0
	next := func() Entry {
		stan++
		now = now.Add(time.Duration(rng.IntN(3600)) * time.Second)
		return sale(stan, 0, now)
	}
	for range 300 {
		switch op := rng.IntN(20); {
		case op < 8: // sale or QR sale
			e := next()
			e.Amount = int64(1 + rng.IntN(80000))
			bps := int64(60)
			if rng.IntN(3) == 0 {
				e.Kind, e.Method, bps = KindQR, "qr", 38
			}
			record(t, l, e)
			hist = append(hist, &rec{e: e, contrib: e.Amount - Fee(e.Amount, bps), live: true, target: -1})
		case op < 9: // unreferenced refund
			e := next()
			e.Kind, e.ProcCode, e.Amount = KindRefund, "200000", int64(1+rng.IntN(5000))
			record(t, l, e)
			hist = append(hist, &rec{e: e, contrib: -(e.Amount - Fee(e.Amount, 60)), live: true, target: -1})
		case op < 10 && len(hist) > 0: // refund by reference of anything
			i := rng.IntN(len(hist))
			h := hist[i]
			e := next()
			e.Kind, e.ProcCode, e.Orig, e.Method = KindRefund, "200000", &h.e.Key, h.e.Method
			e.Amount = int64(1 + rng.IntN(int(h.e.Amount/2+1)))
			bps := int64(60)
			if h.e.Method == "qr" {
				bps = 38
			}
			r := record(t, l, e)
			sale := h.e.Kind == KindSale || h.e.Kind == KindQR
			ok := sale && h.live && e.Amount <= h.e.Amount-h.refunded
			if (r.Refused == "") != ok {
				t.Fatalf("refund of %d against %s (%s, live %v, %d of %d refunded): refused %q; model says ok=%v (seed %d)",
					e.Amount, h.e.Key, h.e.Kind, h.live, h.refunded, h.e.Amount, r.Refused, ok, seed)
			}
			rr := &rec{e: e, target: -1}
			if ok {
				h.refunded += e.Amount
				rr.live, rr.target, rr.contrib = true, i, -(e.Amount - Fee(e.Amount, bps))
			}
			hist = append(hist, rr)
		case op < 13 && len(hist) > 0: // void of a sale
			i := rng.IntN(len(hist))
			h := hist[i]
			if h.e.Kind != KindSale && h.e.Kind != KindQR {
				continue
			}
			v := voidOf(0, h.e, now)
			stan++
			v.Key.STAN = sale(stan, 0, now).Key.STAN
			r := record(t, l, v)
			vr := &rec{e: v, target: -1}
			if h.live && h.refunded > 0 {
				if r.Refused != RefusedRefunded {
					t.Fatalf("void of %s with %d refunded: %+v (seed %d)", h.e.Key, h.refunded, r, seed)
				}
			} else if h.live {
				h.live, vr.live, vr.target = false, true, i
				if r.AlreadyReversed || r.OrigNotFound {
					t.Fatalf("void of live %s: %+v", h.e.Key, r)
				}
			} else if !r.AlreadyReversed {
				t.Fatalf("void of undone %s: %+v", h.e.Key, r)
			}
			hist = append(hist, vr)
		case op < 16 && len(hist) > 0: // reversal of anything
			h := hist[rng.IntN(len(hist))]
			r := record(t, l, reversalOf(h.e, now))
			if r.Duplicate { // this key was reversed before: nothing happens
				continue
			}
			switch {
			case h.refunded > 0 && h.live:
				if r.Refused != RefusedRefunded {
					t.Fatalf("reversal of %s with %d refunded: %+v (seed %d)", h.e.Key, h.refunded, r, seed)
				}
			case h.e.Kind == KindVoid && h.live:
				h.live = false
				hist[h.target].live = true
			case h.e.Kind == KindRefund && h.live && h.target >= 0:
				h.live = false
				hist[h.target].refunded -= h.e.Amount
			case h.e.Kind != KindVoid && h.live:
				h.live = false
			}
		case op < 17:
			st := []RealtimeStatus{RealtimeApproved, RealtimePending, RealtimeRejected}[rng.IntN(3)]
			if err := l.SetRealtime(ctx, mid, st); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(3) > 0 {
				continue
			}
			m, err := l.Merchant(ctx, mid)
			if err != nil {
				t.Fatal(err)
			}
			if m.UnreferencedRefundLimit != limit || m.Realtime != st {
				t.Fatalf("merchant has limit %d, real-time %s; model says %d, %s (seed %d)",
					m.UnreferencedRefundLimit, m.Realtime, limit, st, seed)
			}
			limit = int64(rng.IntN(3)) * 2500
			m.UnreferencedRefundLimit = limit
			if err := l.PutMerchant(ctx, m); err != nil {
				t.Fatal(err)
			}
		case op < 19:
			if _, err := l.CutOff(ctx, now); err != nil {
				t.Fatal(err)
			}
		default:
			l = reopen(t, l)
		}
	}
	if _, err := l.CutOff(ctx, now.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, h := range hist {
		if h.live {
			want += h.contrib
		}
	}
	if got := balance(t, l, mid); got != want {
		t.Errorf("balance %d, model says %d (seed %d)", got, want, seed)
	}
	over := map[string]bool{}
	for _, h := range hist {
		if h.e.Kind == KindRefund && h.e.Orig == nil && h.e.Amount > limit {
			over[h.e.Key.String()] = true
		}
	}
	bs, err := l.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		key, _, _ := strings.Cut(strings.TrimPrefix(b.Detail, "refund "), " ")
		if b.Rule != RuleUnreferencedRefund || !over[key] {
			t.Errorf("breach: %s (limit %d, seed %d)", b, limit, seed)
		}
		delete(over, key)
	}
	for k := range over {
		t.Errorf("unreferenced refund %s above the limit %d not reported (seed %d)", k, limit, seed)
	}
}
