package acquirer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// TestEveryResponseCode drives the host through a real loopback socket to
// every response code docs/host.md lists. Cases run in order: some build on
// the state the earlier ones left (PIN tries, the daily count).
func TestEveryResponseCode(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	tm.signOn()
	got := map[string]bool{}
	cases := []struct {
		name string
		want string
		run  func() string
	}{
		{"approved", "00", func() string { return rc(tm.mustSend(tm.sale(visa, 10000))) }},
		{"unknown merchant", "03", func() string {
			f := tm.sale(visa, 100)
			f.MerchantID = "999999999999999"
			return rc(tm.mustSend(f))
		}},
		{"bad ARQC", "05", func() string {
			f := tm.sale(visa, 100)
			chip(t, f, 100)
			f.ICC[len(f.ICC)-5] ^= 0xFF // last byte of 9F26, before 9F27 01 80
			return rc(tm.mustSend(f))
		}},
		{"unsupported processing code", "12", func() string {
			f := tm.sale(visa, 100)
			f.ProcessingCode = "990000"
			return rc(tm.mustSend(f))
		}},
		{"zero amount", "13", func() string { return rc(tm.mustSend(tm.sale(visa, 0))) }},
		{"Luhn failure", "14", func() string { return rc(tm.mustSend(tm.sale("4761739001010011", 100))) }},
		{"unknown card", "14", func() string { return rc(tm.mustSend(tm.sale("4111111111111111", 100))) }},
		{"reversal of unknown original", "25", func() string {
			f := tm.sale(visa, 100)
			return rc(tm.mustSend(reversalOf(f, tm.nextSTAN())))
		}},
		{"missing merchant field", "30", func() string {
			f := tm.sale(visa, 100)
			f.MerchantID = ""
			return rc(tm.mustSend(f))
		}},
		{"lost", "41", func() string { return rc(tm.mustSend(tm.sale("4761739001010036", 100))) }},
		{"stolen", "43", func() string { return rc(tm.mustSend(tm.sale("4761739001010044", 100))) }},
		{"insufficient funds", "51", func() string { return rc(tm.mustSend(tm.sale(mc, 250000))) }},
		{"expired", "54", func() string {
			f := tm.sale("4761739001010028", 100)
			f.Expiry = "2401"
			return rc(tm.mustSend(f))
		}},
		{"wrong PIN", "55", func() string { return rc(tm.mustSend(tm.withPIN(tm.sale(mc, 100), "9999"))) }},
		{"restricted", "57", func() string { return rc(tm.mustSend(tm.sale("6250947000000022", 100))) }},
		{"unknown terminal", "58", func() string {
			f := tm.sale(visa, 100)
			f.TerminalID = "TERM9999"
			return rc(tm.mustSend(f))
		}},
		{"over per-transaction limit", "61", func() string { return rc(tm.mustSend(tm.sale(visa, 2000001))) }},
		{"over daily count", "65", func() string {
			for i := 0; i < 10; i++ {
				if c := rc(tm.mustSend(tm.sale(cup, 100))); c != "00" {
					return "sale " + fmt.Sprint(i) + " answered " + c
				}
			}
			return rc(tm.mustSend(tm.sale(cup, 100)))
		}},
		{"PIN tries exceeded", "75", func() string {
			tm.mustSend(tm.withPIN(tm.sale(mc, 100), "9999"))
			return rc(tm.mustSend(tm.withPIN(tm.sale(mc, 100), "9999")))
		}},
		{"maintenance", "91", func() string {
			h.SetMaintenance(MaintenanceRespond)
			defer h.SetMaintenance(MaintenanceOff)
			return rc(tm.mustSend(tm.sale(visa, 100)))
		}},
		{"duplicate", "94", func() string {
			f := tm.sale(visa, 100)
			if c := rc(tm.mustSend(f)); c != "00" {
				return "first answered " + c
			}
			return rc(tm.mustSend(f))
		}},
		{"out of balance", "95", func() string {
			return rc(tm.mustSend(&iso.Reconcile{MTI: iso.MTIReconcile, TransmissionDT: "1125103000", STAN: tm.nextSTAN(),
				TerminalID: testTID, MerchantID: testMID, Currency: "156", Batch: "000001", CreditsNumber: 1, CreditsAmount: 1}))
		}},
		{"PIN without a session key", "96", func() string {
			tm.mustSend(&iso.Network{MTI: iso.MTINetworkRequest, TransmissionDT: "1125103000", STAN: tm.nextSTAN(),
				TerminalID: testTID, MerchantID: testMID, NetworkCode: iso.NetSignOff})
			defer tm.signOn()
			return rc(tm.mustSend(tm.withPIN(tm.sale(visa, 100), "1234")))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code := c.run(); code != c.want {
				t.Errorf("answered %q; want %s", code, c.want)
			}
			got[c.want] = true
		})
	}
	for _, code := range []string{"00", "03", "05", "12", "13", "14", "25", "30", "41", "43", "51", "54", "55", "57", "58", "61", "65", "75", "91", "94", "95", "96"} {
		if !got[code] {
			t.Errorf("no case produced %s", code)
		}
	}
	if s := h.Stats(); s.Codes["00"] == 0 || s.In["0200"] == 0 {
		t.Errorf("stats not counting: %+v", s)
	}
}

func TestReversalAppliedAtMostOnce(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	ctx := context.Background()
	sale := tm.sale(visa, 10000)
	if c := rc(tm.mustSend(sale)); c != "00" {
		t.Fatalf("sale answered %s", c)
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != 9940 {
		t.Fatalf("balance after sale = %d; want 9940", b)
	}
	rev := reversalOf(sale, tm.nextSTAN())
	if c := rc(tm.mustSend(rev)); c != "00" {
		t.Fatalf("reversal answered %s", c)
	}
	rev.MTI = iso.MTIReversalRepeat
	if c := rc(tm.mustSend(rev)); c != "00" {
		t.Fatalf("repeat answered %s", c)
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != 0 {
		t.Errorf("balance after reversal and repeat = %d; want 0", b)
	}
	ps, err := h.Ledger().Postings(ctx, testMID, testNow.AddDate(0, 0, -1), testNow.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Errorf("postings = %+v; want the sale's credit and one reversal", ps)
	}
	// The card's usage is back to zero: the whole limit can be spent.
	if c := rc(tm.mustSend(tm.sale(mc, 200000))); c != "00" {
		t.Errorf("full-limit sale after reversal answered %s", c)
	}
}

// A reversal the host failed to process (96) is not journaled, so its
// repeat is processed afresh instead of being answered 96 for ever.
func TestReversalRepeatAfterHostFailure(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	ctx := context.Background()
	sale := tm.sale(visa, 10000)
	if c := rc(tm.mustSend(sale)); c != "00" {
		t.Fatalf("sale answered %s", c)
	}
	if _, err := h.Faults().Add(Fault{Match: Match{MTI: "0400"}, Action: ActRespond, Code: "96"}); err != nil {
		t.Fatal(err)
	}
	rev := reversalOf(sale, tm.nextSTAN())
	if c := rc(tm.mustSend(rev)); c != "96" {
		t.Fatalf("reversal answered %s; want the forced 96", c)
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != 9940 {
		t.Errorf("balance after a failed reversal = %d; want 9940 (nothing undone)", b)
	}
	rev.MTI = iso.MTIReversalRepeat
	if c := rc(tm.mustSend(rev)); c != "00" {
		t.Fatalf("repeat answered %s; want 00", c)
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != 0 {
		t.Errorf("balance after the repeat = %d; want 0", b)
	}
}

func TestDuplicatePostsOnce(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	f := tm.sale(visa, 10000)
	tm.mustSend(f)
	if c := rc(tm.mustSend(f)); c != "94" {
		t.Fatalf("repeat answered %s; want 94", c)
	}
	if b, _ := h.Ledger().Balance(context.Background(), testMID); b != 9940 {
		t.Errorf("balance = %d; want one credit of 9940", b)
	}
}

func TestEMVARPC(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	f := tm.sale(visa, 4200)
	sk, arqc := chip(t, f, 4200)
	resp := tm.mustSend(f)
	if rc(resp) != "00" {
		t.Fatalf("chip sale answered %s", rc(resp))
	}
	f55, _ := resp.GetBytes(55)
	items, err := card.ParseTLV(f55)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := card.FindTag(items, card.TagIssuerAuthData)
	if !ok || len(v) != 10 {
		t.Fatalf("field 55 %X: want tag 91 with ARPC and ARC", f55)
	}
	if err := card.VerifyARPC(sk, arqc, v[:8], "00"); err != nil || string(v[8:]) != "00" {
		t.Errorf("ARPC %X does not verify: %v", v, err)
	}
}

func TestPINTries(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	tm.signOn()
	if !h.SignedOn(testTID) {
		t.Fatal("SignedOn false after sign-on")
	}
	want := []string{"00", "55", "55", "75", "75"}
	pins := []string{"1234", "1111", "2222", "3333", "1234"}
	for i, pin := range pins {
		if c := rc(tm.mustSend(tm.withPIN(tm.sale(visa, 100), pin))); c != want[i] {
			t.Errorf("try %d (PIN %s) answered %s; want %s", i+1, pin, c, want[i])
		}
	}
	if err := h.ResetPINTries("visa-credit"); err != nil {
		t.Fatal(err)
	}
	if c := rc(tm.mustSend(tm.withPIN(tm.sale(visa, 100), "1234"))); c != "00" {
		t.Errorf("after reset answered %s", c)
	}
}

func TestSignOnRules(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	for _, c := range []struct {
		name, tid, mid, sw, want string
	}{
		{"current software", testTID, testMID, "2.1.0", "00"},
		{"outdated software", testTID, testMID, "1.9.9", "12"},
		{"unknown terminal", "TERM9999", testMID, "2.1.0", "58"},
		{"unknown merchant", testTID, "999999999999999", "2.1.0", "03"},
	} {
		resp := tm.mustSend(&iso.Network{MTI: iso.MTINetworkRequest, TransmissionDT: "1125103000", STAN: tm.nextSTAN(),
			TerminalID: c.tid, MerchantID: c.mid, Reserved60: c.sw, NetworkCode: iso.NetSignOn})
		if rc(resp) != c.want {
			t.Errorf("%s: answered %s; want %s", c.name, rc(resp), c.want)
		}
	}
	if c := rc(tm.mustSend(&iso.Network{MTI: iso.MTINetworkRequest, STAN: tm.nextSTAN(), TerminalID: testTID, NetworkCode: iso.NetEcho})); c != "00" {
		t.Errorf("echo answered %s", c)
	}
	resp := tm.mustSend(&iso.Network{MTI: "0600", STAN: tm.nextSTAN(), TerminalID: testTID, NetworkCode: iso.NetEcho})
	if mti, _ := resp.GetMTI(); mti != "0610" || rc(resp) != "12" {
		t.Errorf("unknown MTI 0600 answered %s %s; want 0610 12", mti, rc(resp))
	}
	if c := rc(tm.mustSend(&iso.Network{MTI: iso.MTINetworkRequest, STAN: tm.nextSTAN(), TerminalID: testTID})); c != "30" {
		t.Errorf("0800 without field 70 answered %s; want 30", c)
	}
}

func TestSettlementThroughHost(t *testing.T) {
	ctx := context.Background()
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	resp := tm.mustSend(tm.sale(visa, 10000))
	if c := rc(resp); c != "00" {
		t.Fatalf("card sale answered %s", c)
	}
	if f63, _ := resp.GetString(63); f63 != "D0" {
		t.Errorf("field 63 of a real-time credit = %q; want D0", f63)
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != 9940 {
		t.Errorf("after a 100.00 card sale the balance is %d; want 9940", b)
	}
	qr := tm.sale("", 10000)
	qr.Expiry, qr.EntryMode, qr.AdditionalData = "", "031", qrCode
	if c := rc(tm.mustSend(qr)); c != "00" {
		t.Fatalf("QR sale answered %s", c)
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != 9940+9962 {
		t.Errorf("after a 100.00 QR sale the balance is %d; want %d", b, 9940+9962)
	}
	qr2 := tm.sale("", 100001)
	qr2.Expiry, qr2.EntryMode, qr2.AdditionalData = "", "031", qrCode
	if c := rc(tm.mustSend(qr2)); c != "51" {
		t.Errorf("QR sale over the wallet answered %s; want 51", c)
	}
	qr3 := tm.sale("", 100)
	qr3.Expiry, qr3.EntryMode, qr3.AdditionalData = "", "031", "289999999999999999"
	if c := rc(tm.mustSend(qr3)); c != "14" {
		t.Errorf("unknown payment code answered %s; want 14", c)
	}
}

func TestSaleAboveRealtimeLimitIsT1(t *testing.T) {
	ctx := context.Background()
	h := startHost(t, func(c *Config) { c.Profile.Merchants[0].RealtimePerTxn = 5000 })
	tm := dial(t, h.Addr())
	resp := tm.mustSend(tm.sale(visa, 10000))
	if c := rc(resp); c != "00" {
		t.Fatalf("sale answered %s", c)
	}
	if f63, _ := resp.GetString(63); f63 != "T1" {
		t.Errorf("field 63 of a sale over the real-time limit = %q; want T1", f63)
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != 0 {
		t.Errorf("balance = %d; a sale above the real-time limit must wait for T+1", b)
	}
	st, err := h.Ledger().Statement(ctx, testMID, ledger.Day, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if st.PendingT1 != 9940 {
		t.Errorf("pending T+1 = %d; want 9940", st.PendingT1)
	}
}

func TestOtherTransactions(t *testing.T) {
	h := startHost(t, withRefundLimit(50000)) // the unreferenced refund below
	tm := dial(t, h.Addr())
	ctx := context.Background()
	sale := tm.sale(visa, 5000)
	tm.mustSend(sale)
	// Void of the sale, then of a refund (12), then a second void (12).
	void := tm.sale(visa, 5000)
	void.ProcessingCode = iso.ProcVoid
	void.OriginalData = iso.OriginalData(sale.MTI, sale.STAN, sale.TransmissionDT)
	if c := rc(tm.mustSend(void)); c != "00" {
		t.Errorf("void answered %s", c)
	}
	again := *void
	again.STAN = tm.nextSTAN()
	if c := rc(tm.mustSend(&again)); c != "12" {
		t.Errorf("second void answered %s; want 12", c)
	}
	if b, _ := h.Ledger().Balance(ctx, testMID); b != 0 {
		t.Errorf("balance after void = %d", b)
	}
	refund := tm.sale(visa, 1000)
	refund.ProcessingCode = iso.ProcRefund
	if c := rc(tm.mustSend(refund)); c != "00" {
		t.Errorf("refund answered %s", c)
	}
	vr := tm.sale(visa, 1000)
	vr.ProcessingCode = iso.ProcVoid
	vr.OriginalData = iso.OriginalData(refund.MTI, refund.STAN, refund.TransmissionDT)
	if c := rc(tm.mustSend(vr)); c != "12" {
		t.Errorf("void of a refund answered %s; want 12", c)
	}
	// Balance inquiry: field 54 carries the available balance.
	bal := tm.sale(mc, 0)
	bal.ProcessingCode, bal.Amount = iso.ProcBalanceInquiry, ""
	resp := tm.mustSend(bal)
	if f54, _ := resp.GetString(54); rc(resp) != "00" || f54 != "000000200000" {
		t.Errorf("balance inquiry: %s %q", rc(resp), f54)
	}
	// Pre-authorisation and its completion advice.
	pre := tm.sale(visa, 3000)
	pre.MTI, pre.ProcessingCode = iso.MTIAuthRequest, iso.ProcPreAuth
	if c := rc(tm.mustSend(pre)); c != "00" {
		t.Errorf("pre-auth answered %s", c)
	}
	comp := tm.sale(visa, 3000)
	comp.MTI = iso.MTIAdvice
	comp.OriginalData = iso.OriginalData(pre.MTI, pre.STAN, pre.TransmissionDT)
	if c := rc(tm.mustSend(comp)); c != "00" {
		t.Errorf("completion answered %s", c)
	}
	comp.MTI = iso.MTIAdviceRepeat
	if c := rc(tm.mustSend(comp)); c != "00" {
		t.Errorf("completion repeat answered %s", c)
	}
	// Reconciliation: refund 10.00 and completion 30.00 stand (the sale was voided).
	rec := &iso.Reconcile{MTI: iso.MTIReconcile, TransmissionDT: "1125103000", STAN: tm.nextSTAN(), TerminalID: testTID,
		MerchantID: testMID, Currency: "156", Batch: "000001", CreditsNumber: 1, CreditsAmount: 3000, DebitsNumber: 1, DebitsAmount: 1000}
	if c := rc(tm.mustSend(rec)); c != "00" {
		tot, _ := h.Ledger().BatchTotals(ctx, testTID, "000001")
		t.Errorf("reconciliation answered %s; host totals %+v", c, tot)
	}
}

func TestBatchUploadRecovers(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	ctx := context.Background()
	// The terminal holds an approval the host never journaled.
	lost := tm.sale(visa, 2500)
	rec := &iso.Reconcile{MTI: iso.MTIReconcile, TransmissionDT: "1125103000", STAN: tm.nextSTAN(), TerminalID: testTID,
		MerchantID: testMID, Currency: "156", Batch: "000001", CreditsNumber: 1, CreditsAmount: 2500}
	if c := rc(tm.mustSend(rec)); c != "95" {
		t.Fatalf("first 0500 answered %s; want 95", c)
	}
	up := *lost
	up.MTI = iso.MTIBatchUpload
	up.AuthCode, up.ResponseCode = "123456", "00"
	if c := rc(tm.mustSend(&up)); c != "00" {
		t.Fatalf("0320 answered %s", c)
	}
	if c := rc(tm.mustSend(&up)); c != "00" {
		t.Fatalf("repeated 0320 answered %s", c)
	}
	rec.STAN = tm.nextSTAN()
	if c := rc(tm.mustSend(rec)); c != "00" {
		tot, _ := h.Ledger().BatchTotals(ctx, testTID, "000001")
		t.Fatalf("closing 0500 answered %s; host totals %+v", c, tot)
	}
}

func TestTraceMasksCardData(t *testing.T) {
	var buf syncBuffer
	var mu sync.Mutex
	var events []Event
	h := startHost(t, func(c *Config) {
		c.Trace = &buf
		c.OnEvent = func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }
	})
	tm := dial(t, h.Addr())
	tm.signOn()
	f := tm.withPIN(tm.sale(visa, 100), "1234")
	chip(t, f, 100)
	f.Track2 = "4761739001010010=30122011234"
	tm.mustSend(f)
	out := buf.String()
	for _, secret := range []string{visa, "=3012", "9F26"} {
		if strings.Contains(out, secret) {
			t.Errorf("trace holds %q in clear", secret)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("trace has %d lines; want 4:\n%s", len(lines), out)
	}
	var ev Event
	if err := json.Unmarshal([]byte(lines[2]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Dir != "in" || ev.MTI != "0200" || ev.Fields["2"] != "476173******0010" || ev.Fields["52"] != "[8 bytes]" {
		t.Errorf("event %+v", ev)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 4 || events[3].RespCode != "00" || events[3].Dir != "out" {
		t.Errorf("OnEvent saw %+v", events)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestCardStatusAtRunTime(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	if err := h.SetCardStatus("visa-credit", "lost"); err != nil {
		t.Fatal(err)
	}
	if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "41" {
		t.Errorf("lost card answered %s", c)
	}
	if err := h.SetCardStatus("visa-credit", "bogus"); err == nil {
		t.Error("bad status accepted")
	}
	if err := h.SetMerchantRealtime(context.Background(), testMID, ledger.RealtimePending); err != nil {
		t.Fatal(err)
	}
	h.SetCardStatus("visa-credit", "active")
	tm.mustSend(tm.sale(visa, 10000))
	if b, _ := h.Ledger().Balance(context.Background(), testMID); b != 0 {
		t.Errorf("pending merchant credited at once: %d", b)
	}
}

func TestConcurrentSalesCannotOverspend(t *testing.T) {
	h := startHost(t, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < 8; i++ {
		tm := dial(t, h.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				resp, err := tm.send(tm.sale(mc, 10000))
				mu.Lock()
				if err != nil {
					codes[err.Error()]++
				} else {
					codes[rc(resp)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// mc-debit holds 2,000.00: exactly twenty 100.00 sales fit.
	if codes["00"] != 20 || codes["51"] != 20 {
		keys := make([]string, 0, len(codes))
		for k := range codes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("codes %v; want 20 approvals and 20 declines 51", codes)
	}
}

// TestLedgerFailureIs96: the host never approves what it cannot journal.
func TestLedgerFailureIs96(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "00" {
		t.Fatalf("sale answered %s", c)
	}
	h.Ledger().Close()
	for _, amount := range []int64{100, 200} {
		if c := rc(tm.mustSend(tm.sale(visa, amount))); c != "96" {
			t.Errorf("sale with the ledger closed answered %s; want 96", c)
		}
	}
}

func TestMaxConns(t *testing.T) {
	h := startHost(t, func(c *Config) { c.MaxConns = 1 })
	tm := dial(t, h.Addr())
	tm.mustSend(tm.sale(visa, 100))
	// The refusal is a reset, which may reach the dialer before its
	// connect returns: a failed dial is a refusal too.
	if c2, err := net.Dial("tcp", h.Addr()); err == nil {
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c2.Read(make([]byte, 1)); err == nil {
			t.Error("second connection served beyond MaxConns")
		}
	}
	if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "00" {
		t.Errorf("first connection answered %s", c)
	}
}

// A QR payment code is single-use, so a QR refund names its original in
// field 90 and carries no PAN or code; the host refunds the wallet.
func TestQRRefundByReference(t *testing.T) {
	ctx := context.Background()
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	qr := tm.sale("", 4590)
	qr.Expiry, qr.EntryMode, qr.AdditionalData = "", "032", qrCode
	if c := rc(tm.mustSend(qr)); c != "00" {
		t.Fatalf("QR sale answered %s", c)
	}
	before, _ := h.Ledger().Balance(ctx, testMID)
	refund := tm.sale("", 500)
	refund.Expiry, refund.EntryMode, refund.ProcessingCode = "", "032", iso.ProcRefund
	refund.OriginalData = iso.OriginalData(qr.MTI, qr.STAN, qr.TransmissionDT)
	if c := rc(tm.mustSend(refund)); c != "00" {
		t.Fatalf("QR refund by reference answered %s; want 00", c)
	}
	if after, _ := h.Ledger().Balance(ctx, testMID); before-after != 498 {
		t.Errorf("a 5.00 QR refund took %d from the merchant; want 498 (5.00 less the 0.38%% fee returned)", before-after)
	}
	unknown := tm.sale("", 500)
	unknown.Expiry, unknown.EntryMode, unknown.ProcessingCode = "", "032", iso.ProcRefund
	unknown.OriginalData = iso.OriginalData("0200", "999999", qr.TransmissionDT)
	if c := rc(tm.mustSend(unknown)); c != "25" {
		t.Errorf("refund of an unknown original answered %s; want 25", c)
	}
}
