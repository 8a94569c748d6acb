package terminal

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/possim/possim/simulators/iso"
)

func TestNoResponseIsReversed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		l.host.setRule(func(mti string, req, resp *iso8583.Message) bool { return mti != "0200" })
		start := time.Now()
		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		x, err := l.term.Sale(bg, SaleRequest{Amount: 1234})
		if !errors.Is(err, ErrNoResponse) || x.Status != StatusReversed {
			t.Fatalf("err %v txn %+v", err, x)
		}
		if d := time.Since(start); d < 30*time.Second {
			t.Errorf("reversed after %v, want the 30s response timeout", d)
		}
		if got := strings.Join(l.host.mtis(), " "); !strings.HasSuffix(got, "0200 0400") {
			t.Errorf("host saw %s", got)
		}
		rev := l.host.last("0400")
		if mti, stan, _, _ := iso.ParseOriginalData(get(rev, 90)); mti != "0200" || stan != x.STAN || get(rev, 4) != "000000001234" || get(rev, 39) != "98" {
			t.Errorf("0400: 90=%s 4=%s 39=%s", get(rev, 90), get(rev, 4), get(rev, 39))
		}
		if n := len(l.term.PendingReversals()); n != 0 {
			t.Errorf("%d reversals pending after the host answered", n)
		}
		if len(l.receipts()) != 0 {
			t.Errorf("a reversed sale printed receipts")
		}
		if !strings.Contains(l.texts(EventDisplay), "NO RESPONSE - TRANSACTION REVERSED") {
			t.Errorf("display:\n%s", l.texts(EventDisplay))
		}
	})
}

func TestReversalRepeatedUntilAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		var hostBack atomic.Bool
		l.host.setRule(func(mti string, req, resp *iso8583.Message) bool {
			return mti != "0200" && !strings.HasPrefix(mti, "040") || hostBack.Load()
		})
		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		x, err := l.term.Sale(bg, SaleRequest{Amount: 5000})
		if !errors.Is(err, ErrNoResponse) {
			t.Fatalf("err %v", err)
		}
		pend := l.term.PendingReversals()
		if len(pend) != 1 || pend[0].OrigSTAN != x.STAN || pend[0].Attempts != 1 {
			t.Fatalf("pending = %+v", pend)
		}
		// Still no answer: the next sale is refused after three tries.
		l.reader.Remove()
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 100}); !errors.Is(err, ErrReversalPending) {
			t.Fatalf("next sale with the host silent: %v", err)
		}
		if pend = l.term.PendingReversals(); len(pend) != 1 || pend[0].Attempts != 4 {
			t.Fatalf("pending = %+v", pend)
		}
		// The host is back: the 0401 goes first, then the sale.
		hostBack.Store(true)
		l.sale(100)
		got := strings.Join(l.host.mtis(), " ")
		if !strings.HasSuffix(got, "0200 0400 0401 0401 0401 0401 0200") {
			t.Errorf("host saw %s", got)
		}
		if r := l.host.last("0401"); get(r, 11) != pend[0].STAN || !strings.Contains(get(r, 90), x.STAN) {
			t.Errorf("0401 11=%s 90=%s", get(r, 11), get(r, 90))
		}
		if len(l.term.PendingReversals()) != 0 {
			t.Errorf("reversal still pending")
		}
	})
}

func TestLinkDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		l.term.hangUp() // idle: the link drops; the next transaction dials again
		l.host.setDown(true)
		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		x, err := l.term.Sale(bg, SaleRequest{Amount: 100})
		if !errors.Is(err, ErrLinkDown) || x.Status != StatusFailed {
			t.Fatalf("err %v txn %+v", err, x)
		}
		if l.term.Display() != "LINK DOWN - TRY AGAIN LATER" || len(l.term.PendingReversals()) != 0 {
			t.Errorf("display %q, %d reversals", l.term.Display(), len(l.term.PendingReversals()))
		}
		l.host.setDown(false)
		l.reader.Remove()
		l.sale(100)
	})
}

func TestAmountMismatch(t *testing.T) {
	cases := []struct {
		name    string
		rule    func(resp *iso8583.Message)
		partial bool
		wantErr error
		amount  int64
	}{
		{name: "host approves another amount", rule: func(r *iso8583.Message) { r.Field(4, "000000000900") }, wantErr: ErrAmountMismatch},
		{name: "partial approval refused", rule: func(r *iso8583.Message) { r.Field(39, "10"); r.Field(54, "000000000600") }, wantErr: ErrAmountMismatch},
		{name: "partial approval accepted", rule: func(r *iso8583.Message) { r.Field(39, "10"); r.Field(54, "000000000600") }, partial: true, amount: 600},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				l.ready()
				l.host.setRule(func(mti string, req, resp *iso8583.Message) bool {
					if mti == "0200" {
						tc.rule(resp)
					}
					return true
				})
				l.reader.Tap("visa-credit")
				x, err := l.term.Sale(bg, SaleRequest{Amount: 1000, AcceptPartial: tc.partial})
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr != nil {
					if x.Status != StatusReversed || l.host.last("0400") == nil {
						t.Errorf("txn %+v; host saw %v", x, l.host.mtis())
					}
					if !strings.Contains(l.texts(EventAlert), "amount mismatch") {
						t.Errorf("no amount mismatch alert:\n%s", l.texts(EventAlert))
					}
					return
				}
				if x.Amount != tc.amount || !x.Partial || !strings.Contains(l.receipts()[0], "PARTIAL APPROVAL 6.00/10.00") {
					t.Errorf("txn %+v receipt:\n%s", x, l.receipts()[0])
				}
				if l.term.Display() != "PARTIAL APPROVAL 6.00 - COLLECT 4.00" {
					t.Errorf("display %q", l.term.Display())
				}
			})
		})
	}
}

func TestDeclinesShowTheirReason(t *testing.T) {
	for _, code := range []string{"05", "14", "41", "43", "51", "54", "55", "57", "61", "65", "75", "91", "96"} {
		t.Run(code, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				l.ready()
				l.host.setRule(func(mti string, req, resp *iso8583.Message) bool {
					if mti == "0200" {
						resp.Field(39, code)
						resp.UnsetField(37)
						resp.UnsetField(38)
					}
					return true
				})
				l.reader.Tap("visa-credit")
				x, err := l.term.Sale(bg, SaleRequest{Amount: 100})
				var de *DeclineError
				if !errors.As(err, &de) || de.Code != code || x.Status != StatusDeclined {
					t.Fatalf("err %v txn %+v", err, x)
				}
				want := "DECLINED " + code + ": " + iso.ResponseText(code)
				switch code {
				case "91":
					want = "HOST UNAVAILABLE - TRY AGAIN LATER"
				case "55":
					want = "INCORRECT PIN - TRY AGAIN"
				}
				if l.term.Display() != want || x.Reason != iso.ResponseText(code) {
					t.Errorf("display %q reason %q, want %q", l.term.Display(), x.Reason, want)
				}
				if len(l.receipts()) != 0 || len(l.term.PendingReversals()) != 0 {
					t.Errorf("a decline printed or reversed")
				}
			})
		})
	}
}

func TestPINProblems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		l.reader.Insert("visa-credit")
		l.pad.Type("9999")
		_, err := l.term.Sale(bg, SaleRequest{Amount: 100})
		var de *DeclineError
		if !errors.As(err, &de) || de.Code != iso.RCIncorrectPIN {
			t.Fatalf("wrong PIN: %v", err)
		}
		l.reader.Remove()
		l.reader.Insert("visa-credit")
		l.pad.Cancel()
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 100}); !errors.Is(err, ErrCancelled) || l.term.Display() != "PIN ENTRY CANCELLED" {
			t.Fatalf("cancelled PIN: %v, display %q", err, l.term.Display())
		}
	})
}

func TestCardPulledBeforeCompletionIsReversed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		l.reader.PullEarly()
		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		x, err := l.term.Sale(bg, SaleRequest{Amount: 100})
		if err == nil || x.Status != StatusReversed || l.host.last("0400") == nil {
			t.Fatalf("err %v txn %+v", err, x)
		}
		if get(l.host.last("0400"), 39) != "06" {
			t.Errorf("reversal reason %s", get(l.host.last("0400"), 39))
		}
	})
}

func TestPrinterOutOfPaperQueuesReceipts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		l.printer.PaperOut()
		x := l.sale(700)
		if x.Status != StatusApproved || l.term.QueuedReceipts() != 2 || len(l.receipts()) != 0 {
			t.Fatalf("txn %s, %d queued, %d printed", x.Status, l.term.QueuedReceipts(), len(l.receipts()))
		}
		if !strings.Contains(l.texts(EventAlert), "printer not ready (paper out): 2 receipt(s) queued") {
			t.Errorf("alerts:\n%s", l.texts(EventAlert))
		}
		if err := l.term.FlushReceipts(bg); !errors.Is(err, ErrDevice) {
			t.Errorf("flush with no paper: %v", err)
		}
		l.printer.LoadPaper()
		if err := l.term.FlushReceipts(bg); err != nil {
			t.Fatal(err)
		}
		if rs := l.receipts(); len(rs) != 2 || !strings.Contains(rs[0], x.STAN) || l.term.QueuedReceipts() != 0 {
			t.Errorf("after loading paper: %d printed, %d queued", len(rs), l.term.QueuedReceipts())
		}

		// Queued receipts also go out before the next transaction.
		l.printer.OpenCover()
		y := l.sale(800)
		l.printer.CloseCover()
		l.sale(900)
		rs := l.receipts()
		if len(rs) != 6 || !strings.Contains(rs[2], y.STAN) {
			t.Errorf("%d receipts printed", len(rs))
		}
	})
}

func TestPrinterPollPrintsWhenReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, func(c *Config) { c.PrinterPoll = 5 * time.Second })
		l.ready()
		l.printer.PaperOut()
		l.sale(700)
		l.printer.LoadPaper()
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if len(l.receipts()) != 2 || l.term.QueuedReceipts() != 0 {
			t.Errorf("%d printed, %d queued", len(l.receipts()), l.term.QueuedReceipts())
		}
	})
}

func TestHostMaintenanceAtSignOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.host.setRule(func(mti string, req, resp *iso8583.Message) bool {
			resp.Field(39, "91")
			resp.UnsetField(62)
			return true
		})
		l.term.PowerOn(bg)
		err := l.term.SignOn(bg)
		var de *DeclineError
		if !errors.As(err, &de) || de.Code != "91" || l.term.Display() != "HOST UNAVAILABLE - TRY AGAIN LATER" || l.term.SignedOn() {
			t.Fatalf("err %v display %q", err, l.term.Display())
		}
		l.host.setRule(nil)
		if err := l.term.SignOn(bg); err != nil || !l.term.SignedOn() || l.pad.KeyLoaded() == "" {
			t.Fatalf("sign on after maintenance: %v", err)
		}
		f := l.sentFields("0800")
		if f["70"] != "001" || f["60"] != "2.1.0" {
			t.Errorf("0800 fields %v", f)
		}
	})
}

func TestAnswerWithoutResponseCodeIsReversed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.ready()
		l.host.setRule(func(mti string, req, resp *iso8583.Message) bool {
			if mti == "0200" {
				resp.UnsetField(39)
			}
			return true
		})
		l.reader.Tap("visa-credit")
		x, err := l.term.Sale(bg, SaleRequest{Amount: 100})
		if err == nil || x.Status != StatusReversed || l.host.last("0400") == nil {
			t.Fatalf("err %v txn %+v", err, x)
		}
	})
}
