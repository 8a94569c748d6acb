package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var shanghai = time.FixedZone("CST", 8*3600)

// t0 is a weekday noon in Shanghai time; tests move from it.
var t0 = time.Date(2026, 5, 14, 12, 0, 0, 0, shanghai)

const mid = "123456789012345"

func demoMerchant() Merchant {
	return Merchant{ID: mid, Name: "Demo Mart", Mode: Realtime, Realtime: RealtimeApproved,
		RealtimePerTxn: 5_000_000, RealtimeDaily: 20_000_000, CardFeeBPS: 60, QRFeeBPS: 38}
}

// openLedger opens a ledger in a fresh directory with the demo merchant.
func openLedger(t testing.TB, opts Options) (*Ledger, string) {
	t.Helper()
	path := freshDB(t)
	l, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.PutMerchant(context.Background(), demoMerchant()); err != nil {
		t.Fatalf("PutMerchant: %v", err)
	}
	return l, path
}

// sale builds an approved card sale with STAN n.
func sale(n int, amount int64, at time.Time) Entry {
	return Entry{
		Key: Key{TID: "TERM0001", STAN: fmt.Sprintf("%06d", n), Date: at.Format("0102")},
		MTI: "0200", ProcCode: "000000", Kind: KindSale, MerchantID: mid,
		PANMasked: "476173******0010", CardRef: "card-visa", Method: "card",
		Amount: amount, Currency: "156", RespCode: "00", AuthCode: "123456", RRN: fmt.Sprintf("%012d", n),
		Batch: "000001", Time: at,
	}
}

func qrSale(n int, amount int64, at time.Time) Entry {
	e := sale(n, amount, at)
	e.Kind, e.Method, e.PANMasked, e.CardRef = KindQR, "qr", "", ""
	return e
}

func voidOf(n int, orig Entry, at time.Time) Entry {
	e := sale(n, orig.Amount, at)
	e.Kind, e.ProcCode, e.Orig = KindVoid, "020000", &orig.Key
	return e
}

func reversalOf(orig Entry, at time.Time) Entry {
	e := orig
	e.MTI, e.Kind, e.Orig, e.Time = "0400", KindReversal, nil, at
	return e
}

func record(t testing.TB, l *Ledger, e Entry) Result {
	t.Helper()
	r, err := l.Record(context.Background(), e)
	if err != nil {
		t.Fatalf("Record %s: %v", e.Key, err)
	}
	return r
}

func balance(t testing.TB, l *Ledger, id string) int64 {
	t.Helper()
	b, err := l.Balance(context.Background(), id)
	if err != nil {
		t.Fatalf("Balance: %v", err)
	}
	return b
}

func mustVerify(t testing.TB, l *Ledger) {
	t.Helper()
	bs, err := l.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, b := range bs {
		t.Errorf("breach: %s", b)
	}
}

// types lists the posting types of r, for compact assertions.
func types(ps []Posting) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %d/%d/%d", p.Type, p.Gross, p.Fee, p.Net))
	}
	return out
}

var cmpTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// reopen closes l and opens its file again.
func reopen(t testing.TB, l *Ledger) *Ledger {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	l2, err := Open(context.Background(), l.dsn, l.opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { l2.Close() })
	return l2
}
