package ledger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestConcurrentRecordsGroupCommit(t *testing.T) { eachBackend(t, testConcurrentRecordsGroupCommit) }

func testConcurrentRecordsGroupCommit(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	const workers, each = 64, 8
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				r, err := l.Record(ctx, sale(g*each+i+1, 10000, t0))
				if err == nil && (len(r.Postings) != 1 || r.Duplicate) {
					err = errors.New("unexpected result")
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	commits0, before := l.Commits()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	commits, records := l.Commits()
	commits, records = commits-commits0, records-before
	if records != workers*each {
		t.Errorf("committed %d records, want %d", records, workers*each)
	}
	// 64 callers waiting on the same fsync share it: far fewer commits than records.
	if commits*2 > records {
		t.Errorf("%d records took %d commits: no group commit", records, commits)
	}
	t.Logf("%d records in %d commits", records, commits)
	mustVerify(t, l)

	// Everything survives a restart.
	l2 := reopen(t, l)
	n, _, err := l2.Stats(ctx)
	if err != nil || n != workers*each {
		t.Errorf("Stats after reopen = %d, %v; want %d entries", n, err, workers*each)
	}
	want := int64(workers * each * 9940)
	if got := balance(t, l2, mid); got != want {
		t.Errorf("balance %d, want %d", got, want)
	}
	mustVerify(t, l2)
}

func TestReopenKeepsEverything(t *testing.T) { eachBackend(t, testReopenKeepsEverything) }

func testReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{Synchronous: "NORMAL"})
	s := sale(1, 10000, t0)
	s.Orig = nil
	record(t, l, s)
	big := sale(2, 6_000_000, t0)
	record(t, l, big)
	if err := l.SetRealtime(ctx, mid, RealtimePending); err != nil {
		t.Fatal(err)
	}
	l2 := reopen(t, l)
	if _, err := l.Record(ctx, sale(3, 1, t0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	e, ok, err := l2.Lookup(ctx, s.Key)
	if err != nil || !ok {
		t.Fatalf("Lookup after reopen: %v %v", ok, err)
	}
	if e.Amount != 10000 || e.PANMasked != "476173******0010" || !e.Time.Equal(t0) {
		t.Errorf("entry after reopen: %+v", e)
	}
	if got := balance(t, l2, mid); got != 9940 {
		t.Errorf("balance after reopen = %d", got)
	}
	m, err := l2.Merchant(ctx, mid)
	if err != nil || m.Realtime != RealtimePending || m.Name != "Demo Mart" {
		t.Errorf("merchant after reopen: %+v %v", m, err)
	}
	// The committer's merchant cache came back too: this merchant is now T+1.
	if r := record(t, l2, sale(4, 100, t0)); r.Postings[0].Type != PostT1Pending {
		t.Errorf("after reopen: %v", types(r.Postings))
	}
	// The duplicate check spans restarts.
	if r := record(t, l2, s); !r.Duplicate {
		t.Errorf("duplicate across restart not detected: %+v", r)
	}
	if ps, err := l2.CutOff(ctx, t0); err != nil || len(ps) != 2 {
		t.Errorf("CutOff after reopen: %v %v", types(ps), err)
	}
	mustVerify(t, l2)
}

func TestVerifyFindsTampering(t *testing.T) { eachBackend(t, testVerifyFindsTampering) }

func testVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		sql  string
		rule string
	}{
		{"balance edited", "UPDATE merchants SET balance = balance + 1", RuleBalance},
		{"fee edited", "UPDATE postings SET fee = fee + 1 WHERE type = 'd0_credit'", RuleFee},
		{"net edited", "UPDATE postings SET net = net - 1, fee = fee + 1 WHERE type = 'd0_credit'", RuleFee},
		{"posting doubled", `INSERT INTO postings (merchant, entry_id, origin, type, gross, fee, net, bps, time_ns)
			SELECT merchant, entry_id, origin, type, gross, fee, net, bps, time_ns FROM postings WHERE type = 'd0_credit' LIMIT 1`,
			RulePostingDouble},
		{"reversal applied twice", `INSERT INTO postings (merchant, entry_id, origin, type, gross, fee, net, bps, time_ns)
			SELECT merchant, entry_id + 1000, origin, type, gross, fee, net, bps, time_ns FROM postings WHERE type = 'reverse_d0' LIMIT 1`,
			RuleReversalOnce},
		{"D0 for a decline", "UPDATE entries SET resp = '05' WHERE kind = 'sale' AND stan = '000001'", RuleD0Approved},
		{"pending settled twice", `INSERT INTO postings (merchant, entry_id, origin, type, gross, fee, net, bps, time_ns, ref)
			SELECT merchant, entry_id, origin, 'cancel_t1', gross, fee, net, bps, time_ns, ref FROM postings WHERE type = 't1_credit'`,
			RulePostingDouble},
		{"pending reopened", "UPDATE postings SET open = 1 WHERE type = 't1_pending'", RulePendingState},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, path := openLedger(t, Options{Synchronous: "NORMAL"})
			s := sale(1, 10000, t0)
			record(t, l, s)
			record(t, l, sale(2, 20000, t0))
			s3 := sale(3, 30000, t0)
			record(t, l, s3)
			record(t, l, reversalOf(s3, t0))
			record(t, l, sale(4, 6_000_000, t0)) // pending
			if _, err := l.CutOff(ctx, t0); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, l) // good before
			if _, err := rawDB(t, path).Exec(c.sql); err != nil {
				t.Fatalf("tampering: %v", err)
			}
			bs, err := l.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, b := range bs {
				t.Logf("breach: %s", b)
				found = found || b.Rule == c.rule
			}
			if !found {
				t.Errorf("Verify = %v, want a %s breach", bs, c.rule)
			}
		})
	}
}

func TestOpenBadFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fast := Options{BusyTimeout: 50 * time.Millisecond}

	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("this is not a database, just a note. ", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A real database whose pages were overwritten in the middle.
	damaged := filepath.Join(dir, "damaged.db")
	{
		l, err := Open(ctx, damaged, Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.PutMerchant(ctx, demoMerchant()); err != nil {
			t.Fatal(err)
		}
		for i := range 300 {
			record(t, l, sale(i+1, 100, t0))
		}
		l.Close()
		f, err := os.OpenFile(damaged, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte(strings.Repeat("\xde\xad\xbe\xef", 4096)), 4096*2)
		f.Close()
	}
	locked := filepath.Join(dir, "locked.db")
	{
		db := rawDB(t, locked)
		db.SetMaxOpenConns(1)
		if _, err := db.Exec("CREATE TABLE x (a); BEGIN EXCLUSIVE; INSERT INTO x VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec("ROLLBACK") })
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, path string
		is         error
		says       string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "ledger.db"), nil, "does not exist"},
		{"garbage", garbage, ErrCorrupt, "not a database"},
		{"damaged", damaged, ErrCorrupt, "corrupt"},
		{"locked", locked, ErrLocked, "locked"},
		{"a directory", filepath.Join(dir, "adir"), nil, "is a directory"},
		{"empty path", "", ErrInvalid, "path"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := Open(ctx, c.path, fast)
			if err == nil {
				l.Close()
				t.Fatalf("Open(%s) succeeded", c.path)
			}
			t.Logf("%v", err)
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q should name %s and say %q", err, c.path, c.says)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), Options{Synchronous: "OFF"})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("synchronous OFF: %v", err)
	}
}

// The ledger runs inside a synctest bubble: its committer blocks on channels
// and ends on Close, so the bubble ends cleanly.
func TestInsideSynctestBubble(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bubble.db")
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l, err := Open(ctx, path, Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.PutMerchant(ctx, demoMerchant()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if _, err := l.Record(ctx, sale(i+1, 10000, time.Now())); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// A caller whose deadline passes while queued gets its context error.
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		time.Sleep(2 * time.Second)
		if _, err := l.Record(dctx, sale(100, 1, time.Now())); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("expired context: %v", err)
		}
		cancel()
		if got := balance(t, l, mid); got != 8*9940 {
			t.Errorf("balance = %d", got)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// Another process holding the write lock longer than the busy timeout fails
// the records waiting for it with ErrLocked; nothing is half written, and the
// ledger works again once the lock is gone.
func TestLockedWhileRunning(t *testing.T) {
	ctx := context.Background()
	l, path := openLedger(t, Options{BusyTimeout: 50 * time.Millisecond, Synchronous: "NORMAL"})
	record(t, l, sale(1, 10000, t0))
	db := rawDB(t, path)
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("BEGIN EXCLUSIVE; UPDATE merchants SET name = name"); err != nil {
		t.Fatal(err)
	}
	_, err := l.Record(ctx, sale(2, 10000, t0))
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Errorf("Record under a foreign lock: %v, want ErrLocked naming %s", err, path)
	}
	if _, err := db.Exec("ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := l.Lookup(ctx, sale(2, 0, t0).Key); ok {
		t.Error("failed record was journaled")
	}
	record(t, l, sale(2, 10000, t0))
	if got := balance(t, l, mid); got != 2*9940 {
		t.Errorf("balance = %d", got)
	}
	mustVerify(t, l)
}
