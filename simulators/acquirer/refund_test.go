package acquirer

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// withRefundLimit sets Demo Mart's unreferenced refund limit (fen).
func withRefundLimit(limit int64) func(*Config) {
	return func(c *Config) { c.Profile.Merchants[0].UnreferencedRefundLimit = profile.Amount(limit) }
}

// refundOf is a refund of amount naming sale in field 90, to sale's card
// (pan "" sends none: by reference only).
func (tm *terminal) refundOf(sale *iso.Financial, pan string, amount int64) *iso.Financial {
	f := tm.sale(pan, amount)
	f.ProcessingCode = iso.ProcRefund
	f.OriginalData = iso.OriginalData(sale.MTI, sale.STAN, sale.TransmissionDT)
	return f
}

func (tm *terminal) voidOf(sale *iso.Financial) *iso.Financial {
	f := tm.sale(sale.PAN, 0)
	f.Amount = sale.Amount
	f.ProcessingCode = iso.ProcVoid
	f.OriginalData = iso.OriginalData(sale.MTI, sale.STAN, sale.TransmissionDT)
	return f
}

func (tm *terminal) approved(f *iso.Financial) {
	tm.t.Helper()
	if c := rc(tm.mustSend(f)); c != "00" {
		tm.t.Fatalf("%s %s answered %s; want 00", f.MTI, f.ProcessingCode, c)
	}
}

func TestRefundRules(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	h := startHost(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Trace = &logs
	})
	tm := dial(t, h.Addr())
	sale := tm.sale(visa, 10000)
	tm.approved(sale)
	voided := tm.sale(visa, 5000)
	tm.approved(voided)
	tm.approved(tm.voidOf(voided))
	reversed := tm.sale(visa, 5000)
	tm.approved(reversed)
	tm.approved(reversalOf(reversed, tm.nextSTAN()))
	refunded := tm.sale(visa, 3000)
	tm.approved(refunded)
	tm.approved(tm.refundOf(refunded, visa, 1000))

	cases := []struct {
		name string
		f    *iso.Financial
		want string
	}{
		{"first 60.00 of 100.00", tm.refundOf(sale, visa, 6000), "00"},
		{"second 60.00: only 40.00 left", tm.refundOf(sale, visa, 6000), "13"},
		{"the 40.00 left, by reference only", tm.refundOf(sale, "", 4000), "00"},
		{"0.01 more", tm.refundOf(sale, visa, 1), "13"},
		{"of a voided sale", tm.refundOf(voided, visa, 100), "12"},
		{"of a reversed sale", tm.refundOf(reversed, visa, 100), "12"},
		{"to another card", tm.refundOf(refunded, mc, 100), "14"},
		{"of an unknown original", tm.refundOf(tm.sale(visa, 100), visa, 100), "25"},
		{"void of a refunded sale", tm.voidOf(refunded), "12"},
		{"reversal of a refunded sale", reversalOf(refunded, tm.nextSTAN()), "12"},
		{"unreferenced, merchant allows none", tm.sale(visa, 1000), "57"},
		{"unreferenced 9,999,999,999.99", tm.sale(visa, 999999999999), "57"},
	}
	for _, c := range cases[len(cases)-2:] {
		c.f.ProcessingCode = iso.ProcRefund
	}
	for _, c := range cases {
		if got := rc(tm.mustSend(c.f)); got != c.want {
			t.Errorf("refund %s: answered %s; want %s", c.name, got, c.want)
		}
	}
	// What stands: the 30.00 sale less its 10.00 refund, net of fees.
	if b, _ := h.Ledger().Balance(ctx, testMID); b != (3000-18)-(1000-6) {
		t.Errorf("merchant balance %d; want %d", b, (3000-18)-(1000-6))
	}
	if bs, err := h.Ledger().Verify(ctx); err != nil || len(bs) != 0 {
		t.Errorf("verify: %v %v", bs, err)
	}
	if strings.Contains(logs.String(), mc) || strings.Contains(logs.String(), visa) {
		t.Errorf("a PAN is in the logs in clear")
	}
}

func TestUnreferencedRefundLimit(t *testing.T) {
	h := startHost(t, withRefundLimit(50000))
	tm := dial(t, h.Addr())
	for _, c := range []struct {
		amount int64
		want   string
	}{{50000, "00"}, {50001, "61"}, {999999999999, "61"}} {
		f := tm.sale(visa, c.amount)
		f.ProcessingCode = iso.ProcRefund
		if got := rc(tm.mustSend(f)); got != c.want {
			t.Errorf("unreferenced refund of %d with a 500.00 limit: answered %s; want %s", c.amount, got, c.want)
		}
	}
	// The ledger holds the profile's limit, so the 500.00 approved is no breach.
	if bs, err := h.Ledger().Verify(context.Background()); err != nil || len(bs) != 0 {
		t.Errorf("verify: %v %v", bs, err)
	}
}

// TestRefundDoesNotRaiseCardLimit: mc-debit holds 2,000.00; no refund
// lets it spend more.
func TestRefundDoesNotRaiseCardLimit(t *testing.T) {
	h := startHost(t, withRefundLimit(999999999999))
	tm := dial(t, h.Addr())
	loose := tm.sale(mc, 500000)
	loose.ProcessingCode = iso.ProcRefund
	tm.approved(loose)
	if c := rc(tm.mustSend(tm.sale(mc, 200001))); c != "51" {
		t.Errorf("sale of 2,000.01 after a 5,000.00 unreferenced refund answered %s; want 51", c)
	}
	s := tm.sale(mc, 150000)
	tm.approved(s)
	tm.approved(tm.refundOf(s, mc, 150000))
	bal := tm.sale(mc, 0)
	bal.ProcessingCode, bal.Amount = iso.ProcBalanceInquiry, ""
	if f54, _ := tm.mustSend(bal).GetString(54); f54 != "000000200000" {
		t.Errorf("available after a sale and its full refund = %s; want 2,000.00", f54)
	}
	if c := rc(tm.mustSend(tm.sale(mc, 200001))); c != "51" {
		t.Errorf("sale of 2,000.01 after a sale and its refund answered %s; want 51", c)
	}
}

// TestConcurrentRefundsOfOneSale: eight refunds of 60.00 against one
// 100.00 sale, on eight connections at once: exactly one is approved.
func TestConcurrentRefundsOfOneSale(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	sale := tm.sale(visa, 10000)
	tm.approved(sale)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	start := make(chan struct{})
	for range 8 {
		c := dial(t, h.Addr())
		f := c.refundOf(sale, visa, 6000)
		wg.Go(func() {
			<-start
			resp, err := c.send(f)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				codes[err.Error()]++
				return
			}
			codes[rc(resp)]++
		})
	}
	close(start)
	wg.Wait()
	if codes["00"] != 1 || codes["13"] != 7 {
		t.Errorf("codes %v; want one approval and seven 13", codes)
	}
	if bs, err := h.Ledger().Verify(context.Background()); err != nil || len(bs) != 0 {
		t.Errorf("verify: %v %v", bs, err)
	}
}

// TestCompletionRRNAndAuthCode: a completion is answered, and journaled,
// with the pre-authorisation's RRN and approval code.
func TestCompletionRRNAndAuthCode(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	pre := tm.sale(visa, 3000)
	pre.MTI, pre.ProcessingCode = iso.MTIAuthRequest, iso.ProcPreAuth
	resp := tm.mustSend(pre)
	rrn, _ := resp.GetString(37)
	auth, _ := resp.GetString(38)
	if rc(resp) != "00" || rrn == "" || auth == "" {
		t.Fatalf("pre-auth answered %s, 37=%q 38=%q", rc(resp), rrn, auth)
	}
	comp := tm.sale(visa, 2500)
	comp.MTI, comp.RRN, comp.AuthCode = iso.MTIAdvice, rrn, auth
	comp.OriginalData = iso.OriginalData(pre.MTI, pre.STAN, pre.TransmissionDT)
	for _, mti := range []string{iso.MTIAdvice, iso.MTIAdviceRepeat} {
		comp.MTI = mti
		resp = tm.mustSend(comp)
		r37, _ := resp.GetString(37)
		r38, _ := resp.GetString(38)
		if rc(resp) != "00" || r37 != rrn || r38 != auth {
			t.Errorf("%s answered %s, 37=%q 38=%q; want 00, %s, %s", mti, rc(resp), r37, r38, rrn, auth)
		}
	}
	e, found, err := h.Ledger().Lookup(context.Background(), keyOf(comp))
	if err != nil || !found || e.RRN != rrn || e.AuthCode != auth {
		t.Errorf("journaled completion %+v (%v, %v); want RRN %s, auth %s", e, found, err, rrn, auth)
	}
	// An offline sale advice without 37 gets an RRN of its own.
	off := tm.sale(visa, 1000)
	off.MTI, off.AuthCode = iso.MTIAdvice, "Y1OFFL"
	resp = tm.mustSend(off)
	if r37, _ := resp.GetString(37); rc(resp) != "00" || len(r37) != 12 {
		t.Errorf("offline advice answered %s, 37=%q; want an RRN", rc(resp), r37)
	}
}

// TestBatchUploadOfUnknownRefund: a 0320 refund the host never approved is
// recovered only within the merchant's unreferenced refund limit.
func TestBatchUploadOfUnknownRefund(t *testing.T) {
	ctx := context.Background()
	h := startHost(t, withRefundLimit(50000))
	tm := dial(t, h.Addr())
	for _, c := range []struct {
		amount int64
		want   string
	}{{999999999999, "61"}, {50000, "00"}} {
		up := tm.sale(visa, c.amount)
		up.MTI, up.ProcessingCode = iso.MTIBatchUpload, iso.ProcRefund
		up.AuthCode, up.ResponseCode = "123456", "00"
		if got := rc(tm.mustSend(up)); got != c.want {
			t.Errorf("0320 refund of %d: answered %s; want %s", c.amount, got, c.want)
		}
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != -(50000 - 300) {
		t.Errorf("merchant balance %d; want %d", b, -(50000 - 300))
	}
}
