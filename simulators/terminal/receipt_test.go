package terminal

import (
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func receiptTerminal(t testing.TB, locale string) *Terminal {
	t.Helper()
	p := profile.Default()
	p.Locale = locale
	term, err := New(Config{Profile: p, Dial: func(context.Context) (net.Conn, error) { return nil, errors.New("offline") }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	return term
}

func goldenTxn() *Txn {
	return &Txn{
		Kind: KindSale, Method: Debit, STAN: "000042", Batch: 7,
		Time:      time.Date(2026, 11, 25, 14, 3, 9, 0, time.UTC),
		Requested: 2200, Amount: 2200, Currency: "CNY",
		Items:     []Item{{Code: "6901234567892", Name: "green tea", NameZH: "绿茶", Qty: 4, Price: 350}, {Code: "6901234567908", Name: "bread", NameZH: "面包", Qty: 1, Price: 800}},
		MaskedPAN: "541333******0011", Entry: "swipe", EntryMode: "902", CVM: "signature",
		RRN: "112512345678", AuthCode: "123456", ResponseCode: "00", ResponseText: "APPROVED",
		Status: StatusApproved, Settlement: "D0",
	}
}

func TestReceiptGolden(t *testing.T) {
	for _, tc := range []struct{ locale, copyName, file string }{
		{"en", CopyMerchant, "receipt_en_merchant.txt"},
		{"en", CopyCustomer, "receipt_en_customer.txt"},
		{"zh", CopyMerchant, "receipt_zh_merchant.txt"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			term := receiptTerminal(t, tc.locale)
			r := term.receipt(goldenTxn(), tc.copyName)
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, []byte(r.Text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if r.Text != string(want) {
				t.Errorf("receipt differs from %s (run with -update if intended):\n%s", path, r.Text)
			}
		})
	}
}

func TestMaskFieldHidesSecrets(t *testing.T) {
	cases := map[int]string{2: "4761739001010010", 35: "4761739001010010=30122010000", 52: "0123456789ABCDEF", 55: "9F2608AABBCCDDEEFF0011", 62: "0123456789ABCDEF0123456789ABCDEF08D7B4", 48: "281234567890123456"}
	for id, v := range cases {
		got := maskField(id, v)
		if got == v || len(got) > 0 && got == "" {
			t.Errorf("field %d shown in clear: %q", id, got)
		}
	}
	if got := maskField(2, "4761739001010010"); got != "476173******0010" {
		t.Errorf("PAN masked as %q", got)
	}
}

func TestSealRoundTrip(t *testing.T) {
	key := profile.Default().Keys.TMK()
	aead, err := stateAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal(aead, "txn:000001", "4761739001010010", "3012")
	if err != nil {
		t.Fatal(err)
	}
	if pan, exp, ok := unseal(aead, key, "txn:000001", s); !ok || pan != "4761739001010010" || exp != "3012" {
		t.Fatalf("unseal = %q %q %v", pan, exp, ok)
	}
	if _, _, ok := unseal(aead, key, "txn:000002", s); ok {
		t.Errorf("a record opened under another name")
	}
}

// FuzzResponseFields feeds the parsers of host-controlled fields (54, 55,
// 63) and of the sealed card store arbitrary input: none may panic.
func FuzzResponseFields(f *testing.F) {
	f.Add("000000000600", []byte{0x91, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, '0', '0'}, "D0", "00")
	f.Add("0040156C000000000600", []byte{0x91, 0x81}, "T1xx", "zz")
	f.Add("", []byte{}, "", "")
	key := profile.Default().Keys.TMK()
	aead, err := stateAEAD(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("", []byte{}, "", sealPrefix+"AAAA")
	f.Fuzz(func(t *testing.T, f54 string, icc []byte, f63 string, sealed string) {
		if v, ok := partialAmount(f54); ok && v < 0 {
			t.Errorf("negative amount %d from %q", v, f54)
		}
		if a, arc := issuerAuth(icc, "00"); (a != nil && len(a) != 8) || len(arc) != 2 {
			t.Errorf("ARPC of %d bytes, ARC %q", len(a), arc)
		}
		_ = settlementOf(f63)
		_, _, _ = unseal(aead, key, "txn:000001", sealed)
		_ = card.MaskPAN(sealed)
	})
}

func BenchmarkReceipt(b *testing.B) {
	term := receiptTerminal(b, "zh")
	x := goldenTxn()
	b.ReportAllocs()
	for b.Loop() {
		_ = term.receipt(x, CopyMerchant)
	}
}
