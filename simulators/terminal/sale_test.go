package terminal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/possim/possim/simulators/iso"
)

func TestSaleChipPIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		if err := l.reader.Insert("visa-credit"); err != nil {
			t.Fatal(err)
		}
		if err := l.pad.Type("1234"); err != nil {
			t.Fatal(err)
		}
		x, err := l.term.Sale(context.Background(), SaleRequest{
			Items:  []Item{{Code: "6901234567892", Qty: 2}, {Name: "bread"}},
			Method: Credit,
		})
		if err != nil {
			t.Fatalf("sale: %v (display %q)", err, l.term.Display())
		}
		if x.Status != StatusApproved || x.Amount != 1500 || x.Entry != "chip" || x.CVM != "pin" {
			t.Errorf("txn = %+v", x)
		}
		f := l.sentFields(iso.MTIFinancialRequest)
		if f["22"] != "051" || f["2"] != "476173******0010" || f["52"] != "[PIN block]" || f["4"] != "000000001500" {
			t.Errorf("0200 fields = %v", f)
		}
		if x.Settlement != "D0" {
			t.Errorf("settlement = %q, want D0", x.Settlement)
		}
		rs := l.receipts()
		if len(rs) != 2 {
			t.Fatalf("printed %d receipts, want 2: %q", len(rs), rs)
		}
		for _, want := range []string{"MERCHANT COPY", "Demo Mart", "123456789012345", "TERM0001",
			"476173******0010", "CHIP", "SALE", "green tea x2", "7.00", "bread x1", "CNY 15.00",
			x.STAN, x.RRN, x.AuthCode, "000001", "APPROVED", "REAL-TIME (D0)"} {
			if !strings.Contains(rs[0], want) {
				t.Errorf("merchant copy lacks %q:\n%s", want, rs[0])
			}
		}
		if !strings.Contains(rs[1], "CUSTOMER COPY") || strings.Contains(rs[0], "CARDHOLDER SIGNATURE") {
			t.Errorf("copies:\n%s\n%s", rs[0], rs[1])
		}
		states := l.texts(EventState)
		for _, s := range []State{StateSelfTest, StateSigningOn, StateBasket, StateWaitCard, StateWaitPIN, StateOnline, StatePrinting, StateIdle} {
			if !strings.Contains(states, string(s)+"\n") {
				t.Errorf("state %s never reported; states:\n%s", s, states)
			}
		}
		if l.term.State() != StateIdle {
			t.Errorf("state after sale = %s", l.term.State())
		}
		if got, ok := l.term.Query(x.STAN); !ok || got.RRN != x.RRN {
			t.Errorf("Query(%s) = %+v, %v", x.STAN, got, ok)
		}
		l.checkNoSecrets()
	})
}

func TestRefusesToTradeBeforeSignOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		if _, err := l.term.PowerOn(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, err := l.term.Sale(context.Background(), SaleRequest{Amount: 100})
		if !errors.Is(err, ErrNotSignedOn) {
			t.Fatalf("err = %v, want ErrNotSignedOn", err)
		}
		if l.term.Display() != "PLEASE SIGN ON" || l.term.State() != StateNotSignedOn {
			t.Errorf("display %q state %s", l.term.Display(), l.term.State())
		}
		if got := l.host.mtis(); len(got) != 1 || got[0] != "0800" {
			t.Errorf("host saw %v, want only the power-on echo", got)
		}
	})
}

// BenchmarkSale is a whole chip-and-PIN sale in virtual mode (real time,
// in-memory links): card read, PIN block, 0200/0210, ARPC, two receipts.
func BenchmarkSale(b *testing.B) {
	l := newLab(b)
	l.ready()
	b.ReportAllocs()
	for b.Loop() {
		l.reader.Remove()
		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		if _, err := l.term.Sale(context.Background(), SaleRequest{Amount: 100}); err != nil {
			b.Fatal(err)
		}
	}
}
