package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// refundOf is an approved refund of amount naming orig.
func refundOf(n int, orig Entry, amount int64, at time.Time) Entry {
	e := sale(n, amount, at)
	e.Kind, e.ProcCode, e.Orig, e.Method = KindRefund, "200000", &orig.Key, orig.Method
	e.CardRef = orig.CardRef
	return e
}

func TestRefundRules(t *testing.T) { eachBackend(t, testRefundRules) }

func testRefundRules(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	at := t0
	s := sale(1, 10000, at)
	record(t, l, s)
	voided := sale(2, 5000, at)
	record(t, l, voided)
	if r := record(t, l, voidOf(3, voided, at)); r.Refused != "" {
		t.Fatalf("void refused: %+v", r)
	}
	other := refundOf(0, s, 100, at)
	other.CardRef = "card-other"
	unknown := sale(0, 100, at)
	unknown.Kind, unknown.ProcCode, unknown.Orig = KindRefund, "200000", &Key{TID: "TERM0001", STAN: "999999", Date: s.Key.Date}
	steps := []struct {
		name     string
		e        Entry
		why, rsp string
	}{
		{"first 60.00", refundOf(10, s, 6000, at), "", ""},
		{"second 60.00 is over what is left", refundOf(11, s, 6000, at), RefusedOverAmount, "13"},
		{"the remaining 40.00", refundOf(12, s, 4000, at), "", ""},
		{"one fen more", refundOf(13, s, 1, at), RefusedOverAmount, "13"},
		{"of a voided sale", refundOf(14, voided, 100, at), RefusedUndone, "12"},
		{"another card", func() Entry { e := other; e.Key.STAN = "000015"; return e }(), RefusedOtherCard, "14"},
		{"unknown original", func() Entry { e := unknown; e.Key.STAN = "000016"; return e }(), RefusedNoOriginal, "25"},
		{"void of a refunded sale", voidOf(17, s, at), RefusedRefunded, "12"},
		{"reversal of a refunded sale", reversalOf(s, at), RefusedRefunded, "12"},
	}
	for _, st := range steps {
		before := balance(t, l, mid)
		r := record(t, l, st.e)
		if r.Refused != st.why || r.RespCode != st.rsp {
			t.Errorf("%s: refused %q with %q; want %q with %q", st.name, r.Refused, r.RespCode, st.why, st.rsp)
		}
		if st.why == "" {
			continue
		}
		if len(r.Postings) != 0 || balance(t, l, mid) != before {
			t.Errorf("%s: a refused entry posted %v", st.name, types(r.Postings))
		}
		if st.e.Kind == KindReversal {
			continue // Lookup finds the original under a reversal's key
		}
		if got, _, err := l.Lookup(ctx, st.e.Key); err != nil || got.RespCode != st.rsp {
			t.Errorf("%s: journaled with %q (%v); want %q", st.name, got.RespCode, err, st.rsp)
		}
	}
	// Reversing the 40.00 refund makes 40.00 refundable again.
	record(t, l, reversalOf(steps[2].e, at))
	if r := record(t, l, refundOf(18, s, 4000, at)); r.Refused != "" {
		t.Errorf("refund after its predecessor was reversed: %+v", r)
	}
	mustVerify(t, l)
}

// TestConcurrentRefundsOfOneSale: refunds of one sale arriving together are
// decided in the committer's order, so their sum never passes the sale.
func TestConcurrentRefundsOfOneSale(t *testing.T) { eachBackend(t, testConcurrentRefundsOfOneSale) }

func testConcurrentRefundsOfOneSale(t *testing.T) {
	l, _ := openLedger(t, Options{Synchronous: "NORMAL", MaxBatch: 16})
	s := sale(1, 10000, t0)
	record(t, l, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	approved := 0
	for i := range 32 {
		wg.Go(func() {
			r := record(t, l, refundOf(100+i, s, 1000, t0))
			mu.Lock()
			if r.Refused == "" {
				approved++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if approved != 10 {
		t.Errorf("%d refunds of 10.00 approved against a 100.00 sale; want 10", approved)
	}
	mustVerify(t, l)
}

// TestRefundCreditsCardAtMostItsSale: a refund by reference gives the card
// back what its sale took; an unreferenced one leaves the card's usage alone.
func TestRefundCreditsCardAtMostItsSale(t *testing.T) {
	eachBackend(t, testRefundCreditsCardAtMostItsSale)
}

func testRefundCreditsCardAtMostItsSale(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	s := sale(1, 10000, t0)
	record(t, l, s)
	record(t, l, refundOf(2, s, 10000, t0))
	loose := sale(3, 99999999, t0)
	loose.Kind, loose.ProcCode = KindRefund, "200000"
	record(t, l, loose)
	u, err := l.CardUsage(ctx, s.CardRef, t0)
	if err != nil {
		t.Fatal(err)
	}
	if u.Spent != 0 {
		t.Errorf("card spent %d after a sale, its full refund and an unreferenced refund; want 0", u.Spent)
	}
}

// TestVerifyFindsOverRefunds builds the histories older versions journaled
// (refunds beyond the sale, after a void, to another card) by writing rows
// directly, and checks Verify names each transaction.
func TestVerifyFindsOverRefunds(t *testing.T) {
	l, path := openLedger(t, Options{Synchronous: "NORMAL"})
	s := sale(1, 10000, t0)
	record(t, l, s)
	record(t, l, refundOf(2, s, 6000, t0))
	v := sale(3, 5000, t0)
	record(t, l, v)
	record(t, l, refundOf(4, v, 1000, t0))
	mustVerify(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	// copyRefund repeats refund STAN from as STAN to, postings and balance
	// included, as the old host did for a second refund of the same sale.
	copyRefund := func(from, to, cardRef string) {
		t.Helper()
		var id, newID, delta int64
		err := db.QueryRow("SELECT id FROM entries WHERE stan = ? AND kind = 'refund'", from).Scan(&id)
		if err == nil {
			err = db.QueryRow(`INSERT INTO entries (tid, stan, date, cls, mti, proc, kind, merchant, pan, card_ref, method,
				amount, currency, resp, auth, rrn, batch, orig_tid, orig_stan, orig_date, orig_id, time_ns)
				SELECT tid, ?, date, cls, mti, proc, kind, merchant, pan, COALESCE(?, card_ref), method, amount, currency,
				resp, auth, rrn, batch, orig_tid, orig_stan, orig_date, orig_id, time_ns FROM entries WHERE id = ?
				RETURNING id`, to, sql.NullString{String: cardRef, Valid: cardRef != ""}, id).Scan(&newID)
		}
		if err == nil {
			err = db.QueryRow(`INSERT INTO postings (merchant, entry_id, origin, type, gross, fee, net, bps, time_ns, ref, open)
				SELECT merchant, ?, ?, type, gross, fee, net, bps, time_ns, ref, open FROM postings WHERE entry_id = ?
				RETURNING CASE type WHEN 'reverse_d0' THEN -net ELSE 0 END`, newID, newID, id).Scan(&delta)
		}
		if err == nil {
			_, err = db.Exec("UPDATE merchants SET balance = balance + ? WHERE id = ?", delta, mid)
		}
		if err != nil {
			t.Fatalf("copying refund %s: %v", from, err)
		}
	}
	copyRefund("000002", "000005", "")           // 60 + 60 of a 100.00 sale
	copyRefund("000004", "000006", "card-other") // another card
	if _, err := db.Exec(`UPDATE entries SET undone_by = (SELECT MAX(id) FROM entries) WHERE stan = '000003'`); err != nil {
		t.Fatal(err) // the 50.00 sale marked voided under its refunds (postings aside)
	}
	db.Close()

	l2, err := Open(context.Background(), path, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	bs, err := l2.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		RuleRefundBound: {"sale TERM0001/000001/" + s.Key.Date + " of 10000: refunded 12000", "000002", "000005",
			"sale TERM0001/000003/" + s.Key.Date + " of 5000: refunded 2000", "voided or reversed"},
		RuleRefundRef: {"refund TERM0001/000006/" + s.Key.Date + " went to another card than its sale TERM0001/000003"},
	}
	got := map[string]string{}
	for _, b := range bs {
		got[b.Rule] += b.Detail + "\n"
	}
	for rule, parts := range want {
		for _, p := range parts {
			if !strings.Contains(got[rule], p) {
				t.Errorf("%s: no breach mentions %q; breaches:\n%v", rule, p, bs)
			}
		}
	}
}

// TestVerifyFindsUnreferencedRefundsOfOldLedgers: a version 1 file, which
// stored no limit, holds the 9,999,999,999.99 refund naming no sale that an
// older host approved. Open migrates it, and Verify names the refund both
// before and after the host stores the profile's limit.
func TestVerifyFindsUnreferencedRefundsOfOldLedgers(t *testing.T) {
	ctx := context.Background()
	l, path := openLedger(t, Options{Synchronous: "NORMAL"})
	s := sale(1, 10000, t0)
	record(t, l, s)
	record(t, l, refundOf(2, s, 6000, t0))
	unref := func(n int, amount int64) Entry {
		e := sale(n, amount, t0)
		e.Kind, e.ProcCode, e.CardRef = KindRefund, "200000", ""
		return e
	}
	huge, small := unref(3, 999999999999), unref(4, 10000)
	record(t, l, huge)
	record(t, l, small)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Take the file back to version 1: the merchants table without its limit.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("ALTER TABLE merchants DROP COLUMN unref_limit; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	l, err = Open(ctx, path, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("opening a version 1 file: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	if b := balance(t, l, mid); b > -9_900_000_000_00 {
		t.Fatalf("balance %d; the old refund should have taken it below -9.9 billion", b)
	}
	m, err := l.Merchant(ctx, mid)
	if err != nil || m.UnreferencedRefundLimit != 0 || m.Name != "Demo Mart" {
		t.Fatalf("merchant after migration: %+v, %v; want Demo Mart with limit 0", m, err)
	}
	var version int
	if err := l.rdb.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != schemaVersion {
		t.Errorf("user_version %d (%v) after migration; want %d", version, err, schemaVersion)
	}
	want := func(limit int64, keys ...Entry) {
		t.Helper()
		bs, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != len(keys) {
			t.Errorf("limit %d: %d breaches, want %d: %v", limit, len(bs), len(keys), bs)
		}
		for i, e := range keys {
			w := fmt.Sprintf("refund %s of %d naming no sale, to merchant %s: above its unreferenced refund limit %d",
				e.Key, e.Amount, mid, limit)
			if i >= len(bs) || bs[i].Rule != RuleUnreferencedRefund || bs[i].Detail != w {
				t.Errorf("limit %d: want breach %s: %s; got %v", limit, RuleUnreferencedRefund, w, bs)
			}
		}
	}
	want(0, huge, small)
	bad := m
	bad.UnreferencedRefundLimit = -1
	if err := l.PutMerchant(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutMerchant with a negative limit: %v; want ErrInvalid", err)
	}
	// The host registers the merchant with its profile's 500.00 limit.
	m.UnreferencedRefundLimit = 50000
	if err := l.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l)
	want(50000, huge)
}
