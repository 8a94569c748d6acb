package terminal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/possim/possim/simulators/iso"
)

var bg = context.Background()

func TestCardEntry(t *testing.T) {
	cases := []struct {
		name      string
		amount    int64
		stage     func(l *lab)
		react     func(l *lab) // when the terminal asks again
		req       SaleRequest
		entry     string
		field22   string
		cvm       string
		wantShown string
	}{
		{name: "tap under the no-CVM limit", amount: 5000,
			stage: func(l *lab) { l.reader.Tap("visa-credit") },
			entry: "tap", field22: "072", cvm: "none"},
		{name: "tap above the limit asks a PIN", amount: 150000,
			stage: func(l *lab) { l.reader.Tap("visa-credit"); l.pad.Type("1234") },
			entry: "tap", field22: "071", cvm: "pin"},
		{name: "chip card swiped is asked to insert", amount: 1000,
			stage: func(l *lab) { l.reader.Swipe("mc-debit"); l.pad.Type("1234") },
			react: func(l *lab) { l.reader.Insert("mc-debit") },
			entry: "chip", field22: "051", cvm: "pin",
			wantShown: "CHIP CARD - PLEASE INSERT CARD"},
		{name: "failed chip read falls back to swipe", amount: 1000,
			stage: func(l *lab) { l.reader.ChipError(); l.reader.Insert("mc-debit"); l.pad.Type("1234") },
			react: func(l *lab) { l.reader.Remove(); l.reader.Swipe("mc-debit") },
			entry: "fallback", field22: "801", cvm: "pin",
			wantShown: "CHIP READ ERROR - SWIPE CARD"},
		{name: "bad swipe is asked again", amount: 1000,
			stage: func(l *lab) { l.reader.BadSwipe(); l.reader.Swipe("swipe-only") },
			react: func(l *lab) { l.reader.Swipe("swipe-only") },
			req:   SaleRequest{Signature: true},
			entry: "swipe", field22: "902", cvm: "signature",
			wantShown: "SWIPE ERROR - SWIPE AGAIN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				l.ready()
				tc.stage(l)
				req := tc.req
				req.Amount = tc.amount
				res := async(func() (*Txn, error) { return l.term.Sale(bg, req) })
				if tc.react != nil {
					synctest.Wait()
					if l.term.Display() != tc.wantShown {
						t.Fatalf("display = %q, want %q", l.term.Display(), tc.wantShown)
					}
					tc.react(l)
				}
				r := <-res
				if r.err != nil {
					t.Fatalf("sale: %v (display %q)", r.err, l.term.Display())
				}
				if r.x.Entry != tc.entry || r.x.EntryMode != tc.field22 || r.x.CVM != tc.cvm {
					t.Errorf("entry %s/%s cvm %s, want %s/%s %s", r.x.Entry, r.x.EntryMode, r.x.CVM, tc.entry, tc.field22, tc.cvm)
				}
				if got := l.sentFields("0200")["22"]; got != tc.field22 {
					t.Errorf("field 22 = %s, want %s", got, tc.field22)
				}
				if tc.cvm == "signature" && !strings.Contains(l.receipts()[0], "CARDHOLDER SIGNATURE") {
					t.Errorf("signed receipt has no signature line:\n%s", l.receipts()[0])
				}
				l.checkNoSecrets()
			})
		})
	}
}

func TestScannedBasket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		for _, c := range []string{"6901234567892", "6901234567892", "0000000000000", "6901234567922"} {
			l.scanner.Scan(c)
		}
		l.reader.Tap("visa-credit")
		l.scanner.Garble()
		l.scanner.Scan("6901234567908")
		x, err := l.term.Sale(bg, SaleRequest{Scan: true})
		if err != nil {
			t.Fatal(err)
		}
		if x.Amount != 350*2+12900 || len(x.Items) != 2 || x.Items[0].Qty != 2 {
			t.Errorf("basket = %+v, amount %d", x.Items, x.Amount)
		}
		if !strings.Contains(l.texts(EventDisplay), "UNKNOWN ITEM 0000000000000") || !strings.Contains(l.texts(EventDisplay), "SCAN AGAIN") {
			t.Errorf("unknown code not shown:\n%s", l.texts(EventDisplay))
		}
	})
}

func TestBrokenScannerFallsBackToKeyedEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.scanner.Break()
		st, err := l.term.PowerOn(bg)
		var ste *SelfTestError
		if !errors.As(err, &ste) || len(ste.Failed) != 1 || ste.Failed[0].Name != "scanner" || st.OK() {
			t.Fatalf("self test = %+v, %v", st, err)
		}
		if err := l.term.SignOn(bg); err != nil {
			t.Fatal(err)
		}
		l.reader.Tap("visa-credit")
		x, err := l.term.Sale(bg, SaleRequest{Scan: true, Items: []Item{{Code: "6901234567908", Qty: 3}}})
		if err != nil {
			t.Fatal(err)
		}
		if x.Amount != 2400 {
			t.Errorf("amount = %d", x.Amount)
		}
		if !strings.Contains(l.texts(EventDisplay), "SCANNER FAULT - KEY ITEMS") || !strings.Contains(l.texts(EventAlert), "scanner failed") {
			t.Errorf("scanner fault not shown")
		}
	})
}

func TestSelfTestReportsWhatFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.printer.PaperOut()
		l.pad.Break()
		l.host.setDown(true)
		st, err := l.term.PowerOn(bg)
		var ste *SelfTestError
		if !errors.As(err, &ste) {
			t.Fatalf("err = %v", err)
		}
		failed := map[string]string{}
		for _, c := range st.Failed() {
			failed[c.Name] = c.Detail
		}
		if len(failed) != 3 || failed["printer"] != "paper out" || failed["pinpad"] == "" || !strings.Contains(failed["host"], "link down") {
			t.Errorf("failed checks = %v", failed)
		}
		if !strings.HasPrefix(l.term.Display(), "CHECK HOST, PRINTER, PINPAD") {
			t.Errorf("display = %q", l.term.Display())
		}
	})
}

func TestQRPayment(t *testing.T) {
	for _, scan := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			l := newLab(t)
			l.ready()
			req := SaleRequest{Method: QR, Amount: 4590}
			if scan {
				l.scanner.Scan("281234567890123456")
			} else {
				req.PaymentCode = "281234567890123456"
			}
			x, err := l.term.Sale(bg, req)
			if err != nil {
				t.Fatal(err)
			}
			f := l.sentFields("0200")
			if f["22"] != "032" || f["48"] != "2812**********3456" || f["2"] != "" {
				t.Errorf("QR 0200 fields = %v", f)
			}
			if get(l.host.last("0200"), 48) != "281234567890123456" {
				t.Errorf("host did not get the payment code")
			}
			if x.Kind != KindQR || !strings.Contains(l.receipts()[1], "QR SALE") {
				t.Errorf("txn %+v receipt:\n%s", x, l.receipts()[1])
			}
		})
	}
}

// sale runs a chip sale with PIN for amount.
func (l *lab) sale(amount int64) *Txn {
	l.t.Helper()
	l.reader.Remove()
	if err := l.reader.Insert("visa-credit"); err != nil {
		l.t.Fatal(err)
	}
	l.pad.Type("1234")
	x, err := l.term.Sale(bg, SaleRequest{Amount: amount})
	if err != nil {
		l.t.Fatalf("sale: %v", err)
	}
	l.reader.Remove()
	return x
}

func TestVoidRefundPreAuthCompletion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		a := l.sale(1000)
		b := l.sale(2000)

		v, err := l.term.Void(bg, a.STAN)
		if err != nil {
			t.Fatalf("void: %v", err)
		}
		m := l.host.last("0200")
		if get(m, 3) != iso.ProcVoid || !strings.Contains(get(m, 90), a.STAN) || get(m, 37) != a.RRN {
			t.Errorf("void 0200: 3=%s 90=%s 37=%s", get(m, 3), get(m, 90), get(m, 37))
		}
		if got, _ := l.term.Query(a.STAN); got.Status != StatusVoided || v.Kind != KindVoid {
			t.Errorf("voided original = %+v", got)
		}
		if _, err := l.term.Void(bg, a.STAN); !errors.Is(err, ErrNotFound) {
			t.Errorf("second void: %v", err)
		}

		r, err := l.term.Refund(bg, RefundRequest{OrigSTAN: b.STAN, Amount: 500})
		if err != nil || r.Amount != 500 {
			t.Fatalf("refund: %v %+v", err, r)
		}
		if _, err := l.term.Refund(bg, RefundRequest{OrigSTAN: b.STAN, Amount: 1600}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("refund above what is left: %v", err)
		}
		l.reader.Swipe("swipe-only")
		if _, err := l.term.Refund(bg, RefundRequest{Amount: 300}); err != nil {
			t.Fatalf("refund to a card: %v", err)
		}

		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		pa, err := l.term.PreAuth(bg, PreAuthRequest{Amount: 10000})
		if err != nil || pa.MTI != "0100" {
			t.Fatalf("preauth: %v %+v", err, pa)
		}
		l.reader.Remove()
		c, err := l.term.Completion(bg, CompletionRequest{OrigSTAN: pa.STAN, Amount: 8000})
		if err != nil || c.Amount != 8000 {
			t.Fatalf("completion: %v", err)
		}
		m = l.host.last("0220")
		if get(m, 38) != pa.AuthCode || get(m, 25) != "06" || !strings.Contains(get(m, 90), pa.STAN) {
			t.Errorf("0220: 38=%s 25=%s 90=%s", get(m, 38), get(m, 25), get(m, 90))
		}
		if _, err := l.term.Completion(bg, CompletionRequest{OrigSTAN: pa.STAN}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("second completion: %v", err)
		}

		want := Totals{SalesCount: 2, SalesAmount: 2000 + 8000, RefundsCount: 2, RefundsAmount: 800}
		if got := l.term.Totals(); got != want {
			t.Errorf("totals = %+v, want %+v", got, want)
		}
		res, err := l.term.Settle(bg)
		if err != nil || !res.Balanced || res.Uploaded != 0 || l.term.Batch() != 2 {
			t.Fatalf("settle: %v %+v batch %d", err, res, l.term.Batch())
		}
		m = l.host.last("0500")
		if get(m, 74) != "2" || get(m, 86) != "10000" || get(m, 76) != "2" || get(m, 88) != "800" || get(m, 60) != "000001" {
			t.Errorf("0500: 74=%s 86=%s 76=%s 88=%s 60=%s", get(m, 74), get(m, 86), get(m, 76), get(m, 88), get(m, 60))
		}
		if len(l.term.Log()) != 7 {
			t.Errorf("log has %d transactions, want 7", len(l.term.Log()))
		}
		l.checkNoSecrets()
	})
}

func TestSettlementUploadsWhenOutOfBalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		a := l.sale(1000)
		l.sale(2500)
		l.host.mu.Lock()
		delete(l.host.journal, a.STAN) // the host lost one
		l.host.mu.Unlock()
		res, err := l.term.Settle(bg)
		if err != nil || !res.Balanced || res.Uploaded != 2 || res.NextBatch != 2 {
			t.Fatalf("settle: %v %+v", err, res)
		}
		got := strings.Join(l.host.mtis(), " ")
		if !strings.HasSuffix(got, "0500 0320 0320 0500") {
			t.Errorf("host saw %s", got)
		}
		if !strings.Contains(l.texts(EventState), "batch_upload") {
			t.Errorf("no batch_upload state")
		}
	})
}

func TestSettlementStaysOpenWhenStillOutOfBalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		l.sale(1000)
		l.host.setRule(func(mti string, req, resp *iso8583.Message) bool {
			if mti == "0500" {
				resp.Field(39, iso.RCReconcileError)
			}
			return true
		})
		_, err := l.term.Settle(bg)
		if !errors.Is(err, ErrOutOfBalance) || l.term.Batch() != 1 {
			t.Fatalf("err %v batch %d", err, l.term.Batch())
		}
		if l.term.Display() != "BATCH OUT OF BALANCE - CALL THE ACQUIRER" {
			t.Errorf("display %q", l.term.Display())
		}
	})
}

func TestReprintAndLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		if err := l.term.Reprint(bg); !errors.Is(err, ErrNotFound) {
			t.Errorf("reprint with nothing: %v", err)
		}
		x := l.sale(4200)
		if err := l.term.Reprint(bg); err != nil {
			t.Fatal(err)
		}
		rs := l.receipts()
		if len(rs) != 3 || !strings.Contains(rs[2], "*** REPRINT ***") || !strings.Contains(rs[2], x.STAN) {
			t.Errorf("receipts: %q", rs)
		}
		if log := l.term.Log(); len(log) != 1 || log[0].STAN != x.STAN || log[0].MaskedPAN != "476173******0010" {
			t.Errorf("log = %+v", log)
		}
		if _, ok := l.term.Query("999999"); ok {
			t.Errorf("query found a STAN never used")
		}
	})
}

func TestCloseEndsAWaitingSale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		res := async(func() (*Txn, error) { return l.term.Sale(bg, SaleRequest{Amount: 100}) })
		synctest.Wait()
		if l.term.State() != StateWaitCard {
			t.Fatalf("state %s", l.term.State())
		}
		l.term.Close()
		if r := <-res; !errors.Is(r.err, ErrCancelled) {
			t.Errorf("sale after Close: %v", r.err)
		}
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 100}); !errors.Is(err, ErrClosed) {
			t.Errorf("sale on a closed terminal: %v", err)
		}
	})
}

func TestCardTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		start := time.Now()
		_, err := l.term.Sale(bg, SaleRequest{Amount: 100})
		if !errors.Is(err, ErrCancelled) || l.term.Display() != "NO CARD - TRANSACTION CANCELLED" {
			t.Fatalf("err %v display %q", err, l.term.Display())
		}
		if d := time.Since(start); d < 60*time.Second {
			t.Errorf("gave up after %v of virtual time, want the 60s card timeout", d)
		}
	})
}
