package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRaiseATCSurvivesReopen(t *testing.T) { eachBackend(t, testRaiseATCSurvivesReopen) }

func testRaiseATCSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	barrier := func() {
		t.Helper()
		if err := l.do(ctx, func(*writer) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := l.LastATC(ctx, "card-a"); err != nil || ok {
		t.Fatalf("a card never seen has an ATC: %v %v", ok, err)
	}
	for _, s := range []struct{ raise, want uint16 }{
		{3, 3},
		{2, 3}, // never lowered
		{5, 5}, // counters may skip
	} {
		if err := l.RaiseATC(ctx, "card-a", s.raise, now); err != nil {
			t.Fatal(err)
		}
		barrier()
		if got, ok, err := l.LastATC(ctx, "card-a"); err != nil || !ok || got != s.want {
			t.Errorf("after raising to %d: LastATC = %d %v %v; want %d", s.raise, got, ok, err, s.want)
		}
	}
	// Queued, not waited for: durable by the time a later record is.
	if err := l.RaiseATC(ctx, "card-b", 9, now); err != nil {
		t.Fatal(err)
	}
	record(t, l, sale(1, 100, now))
	l = reopen(t, l)
	for card, want := range map[string]uint16{"card-a": 5, "card-b": 9} {
		if got, ok, err := l.LastATC(ctx, card); err != nil || !ok || got != want {
			t.Errorf("after reopening: LastATC(%s) = %d %v %v; want %d", card, got, ok, err, want)
		}
	}
	if err := l.RaiseATC(ctx, "", 1, now); err == nil {
		t.Error("an ATC without a card reference was accepted")
	}
}

// TestRaiseATCSharesTheRecordsCommit: a chip authorisation raises the
// card's counter and then journals its entry; both go in one transaction,
// so the counter costs no commit (no fsync) of its own. A raise no record
// follows is written when the ledger closes.
func TestRaiseATCSharesTheRecordsCommit(t *testing.T) {
	eachBackend(t, testRaiseATCSharesTheRecordsCommit)
}

func testRaiseATCSharesTheRecordsCommit(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		c0, r0 := l.Commits()
		if err := l.RaiseATC(ctx, "card-a", uint16(10+i), now); err != nil {
			t.Fatal(err)
		}
		record(t, l, sale(i+1, 100, now))
		if c, r := l.Commits(); c != c0+1 || r != r0+1 {
			t.Fatalf("sale %d: %d commits carrying %d records for one raise and one sale; want 1 and 1", i+1, c-c0, r-r0)
		}
		if got, ok, err := l.LastATC(ctx, "card-a"); err != nil || !ok || got != uint16(10+i) {
			t.Fatalf("sale %d: LastATC = %d %v %v once the sale is committed; want %d", i+1, got, ok, err, 10+i)
		}
	}
	if err := l.RaiseATC(ctx, "card-c", 7, now); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l)
	if got, ok, err := l.LastATC(ctx, "card-c"); err != nil || !ok || got != 7 {
		t.Errorf("a raise no record followed, after Close: LastATC = %d %v %v; want 7", got, ok, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.RaiseATC(ctx, "card-c", 8, now); !errors.Is(err, ErrClosed) {
		t.Errorf("RaiseATC on a closed ledger: %v; want ErrClosed", err)
	}
}

// TestATCFailureCostsOnlyTheCounters: a counter that cannot be written
// (here its table is gone) must not fail the sale whose transaction it was
// to ride in, nor the ones after it; it is dropped and logged.
func TestATCFailureCostsOnlyTheCounters(t *testing.T) {
	eachBackend(t, testATCFailureCostsOnlyTheCounters)
}

func testATCFailureCostsOnlyTheCounters(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if err := l.do(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(w.bg, "DROP TABLE card_atc")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.RaiseATC(ctx, "card-a", 3, now); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if res, err := l.Record(ctx, sale(i+1, 100, now)); err != nil || res.Duplicate {
			t.Fatalf("sale %d after a counter that cannot be written: %+v %v", i+1, res, err)
		}
	}
	if n, _, err := l.Stats(ctx); err != nil || n != 3 {
		t.Errorf("%d entries journaled (%v); want 3", n, err)
	}
}

// BenchmarkRaiseATC is the cost the replay check adds to a chip
// authorisation: a write queued to the group committer, committed with the
// authorisation's journal entry.
func BenchmarkRaiseATC(b *testing.B) {
	l, _ := openLedger(b, Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	now := time.Now()
	var next atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			if err := l.RaiseATC(ctx, fmt.Sprintf("card-%d", n%1024), uint16(n/1024+1), now); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := l.do(ctx, func(*writer) error { return nil }); err != nil {
		b.Fatal(err)
	}
}

// TestClaimATC: of the same counter claimed many times at once, on one or
// two ledgers, exactly one claim wins.
func TestClaimATC(t *testing.T) { eachBackend(t, testClaimATC) }

func testClaimATC(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	l, _ := openLedger(t, Options{})
	m := l
	if onPostgres(t) {
		var err error
		if m, err = Open(ctx, l.dsn, Options{}); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
	}
	for _, atc := range []uint16{5, 9} {
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			h := l
			if i%2 == 1 {
				h = m
			}
			wg.Go(func() {
				ok, err := h.ClaimATC(ctx, "card-a", atc, now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Errorf("ATC %d claimed %d times, want once", atc, won.Load())
		}
	}
	if ok, err := l.ClaimATC(ctx, "card-a", 7, now); err != nil || ok {
		t.Errorf("a lower ATC claimed: %v %v", ok, err)
	}
}
