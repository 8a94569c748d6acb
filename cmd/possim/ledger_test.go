package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/simulators/ledger"
)

// TestLedgerVerifyUnreferencedRefund: the 9,999,999,999.99 refund naming no
// sale that an older host approved fails `possim ledger verify` with exit 1
// and names the rule and the entry, until the merchant's limit covers it.
func TestLedgerVerifyUnreferencedRefund(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "host.db")
	led, err := ledger.Open(ctx, db, ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	const mid = "123456789012345"
	m := ledger.Merchant{ID: mid, Name: "Demo Mart"}
	if err := led.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 10, 30, 0, 0, time.Local)
	e := ledger.Entry{Key: ledger.Key{TID: "TERM0001", STAN: "000002", Date: "1125"}, MTI: "0200", ProcCode: "200000",
		Kind: ledger.KindRefund, MerchantID: mid, PANMasked: "476173******0010", Method: "card",
		Amount: 999999999999, Currency: "156", RespCode: "00", AuthCode: "123456", RRN: "000000000002",
		Batch: "000001", Time: at}
	if _, err := led.Record(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := led.Close(); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runMain("ledger", "--db", db, "verify")
	want := "BREACH refund_unreferenced: refund TERM0001/000002/1125 of 999999999999 naming no sale, to merchant " +
		mid + ": above its unreferenced refund limit 0"
	if code != 1 || !strings.Contains(stdout, want) || !strings.Contains(stderr, "1 ledger invariant(s) broken") {
		t.Errorf("verify: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1 and %q", code, stdout, stderr, want)
	}

	// A limit that covers it: nothing to report.
	if led, err = ledger.Open(ctx, db, ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	m.UnreferencedRefundLimit = 999999999999
	if err := led.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	led.Close()
	if code, stdout, stderr := runMain("ledger", "--db", db, "verify"); code != 0 || !strings.Contains(stdout, "invariants hold") {
		t.Errorf("verify with a 9,999,999,999.99 limit: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
