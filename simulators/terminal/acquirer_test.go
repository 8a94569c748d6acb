package terminal

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

// acqLab is a lab whose terminal talks to our mock acquirer over net.Pipe.
func acqLab(t *testing.T, dir string) (*lab, *acquirer.Host, *ledger.Ledger) {
	t.Helper()
	ctx := context.Background()
	led, err := ledger.Open(ctx, filepath.Join(dir, "host.db"), ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	var h *acquirer.Host
	l := newLab(t, func(c *Config) {
		h, err = acquirer.New(ctx, acquirer.Config{Profile: c.Profile, Ledger: led})
		if err != nil {
			t.Fatal(err)
		}
		c.Dial = func(ctx context.Context) (net.Conn, error) {
			a, b := net.Pipe()
			if err := h.ServeConn(b); err != nil {
				return nil, err
			}
			return a, nil
		}
	})
	t.Cleanup(func() {
		h.Close()
		led.Close()
	})
	return l, h, led
}

func TestWithAcquirer(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		l, h, _ := acqLab(t, dir)
		l.ready()

		// Chip and PIN: the host checks the ARQC and the PIN block, the card the ARPC.
		sale := l.sale(12345)
		if sale.AuthCode == "" || sale.RRN == "" {
			t.Errorf("sale %+v", sale)
		}

		// QR payment.
		if _, err := l.term.Sale(bg, SaleRequest{Method: QR, Amount: 4590, PaymentCode: "281234567890123456"}); err != nil {
			t.Fatalf("QR: %v", err)
		}

		// Void and refund.
		v := l.sale(1000)
		if _, err := l.term.Void(bg, v.STAN); err != nil {
			t.Fatalf("void: %v", err)
		}
		if _, err := l.term.Refund(bg, RefundRequest{OrigSTAN: sale.STAN, Amount: 345}); err != nil {
			t.Fatalf("refund: %v", err)
		}

		// Pre-authorisation and completion.
		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		pa, err := l.term.PreAuth(bg, PreAuthRequest{Amount: 20000})
		if err != nil {
			t.Fatalf("preauth: %v", err)
		}
		l.reader.Remove()
		if _, err := l.term.Completion(bg, CompletionRequest{OrigSTAN: pa.STAN, Amount: 15000}); err != nil {
			t.Fatalf("completion: %v", err)
		}

		// No answer: reversed, and the host undoes it.
		h.Faults().Add(acquirer.Fault{Match: acquirer.Match{MTI: "0200"}, Action: acquirer.ActDrop})
		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 777}); !errors.Is(err, ErrNoResponse) {
			t.Fatalf("dropped sale: %v", err)
		}
		l.reader.Remove()
		if n := len(l.term.PendingReversals()); n != 0 {
			t.Errorf("%d reversals pending", n)
		}

		// The host hangs up instead of answering, or answers another STAN:
		// both are reversed, the first on a new connection.
		for _, act := range []string{acquirer.ActClose, acquirer.ActWrongSTAN} {
			h.Faults().Add(acquirer.Fault{Match: acquirer.Match{MTI: "0200"}, Action: act})
			l.reader.Tap("visa-credit")
			x, err := l.term.Sale(bg, SaleRequest{Amount: 555})
			if err == nil || x.Status != StatusReversed || len(l.term.PendingReversals()) != 0 {
				t.Fatalf("%s: %v %+v pending %d", act, err, x, len(l.term.PendingReversals()))
			}
		}

		// The host approves another amount: reversed with an alert.
		h.Faults().Add(acquirer.Fault{Match: acquirer.Match{MTI: "0200"}, Action: acquirer.ActAmount, Amount: 1})
		l.reader.Tap("visa-credit")
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 900}); !errors.Is(err, ErrAmountMismatch) {
			t.Fatalf("amount fault: %v", err)
		}
		// A partial approval refused by the merchant.
		h.Faults().Add(acquirer.Fault{Match: acquirer.Match{MTI: "0200"}, Action: acquirer.ActPartial, Amount: 300})
		l.reader.Tap("visa-credit")
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 900}); !errors.Is(err, ErrAmountMismatch) {
			t.Fatalf("partial fault: %v", err)
		}

		// Declines carry the issuer's reason.
		l.reader.Insert("lost")
		l.pad.Type("1234")
		var de *DeclineError
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 100}); !errors.As(err, &de) || de.Code != "41" {
			t.Fatalf("lost card: %v", err)
		}
		l.reader.Remove()

		// Maintenance.
		h.SetMaintenance(acquirer.MaintenanceRespond)
		l.reader.Tap("visa-credit")
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 100}); !errors.As(err, &de) || de.Code != "91" {
			t.Fatalf("maintenance: %v", err)
		}
		h.SetMaintenance(acquirer.MaintenanceOff)

		// Settlement: the terminal's totals agree with the host's journal.
		res, err := l.term.Settle(bg)
		if err != nil || !res.Balanced || res.Uploaded != 0 {
			t.Fatalf("settle: %v %+v (totals %+v)", err, res, l.term.Totals())
		}
		// A forced 95: batch upload, then the closing 0500 balances.
		l.sale(500)
		h.Faults().Add(acquirer.Fault{Match: acquirer.Match{MTI: "0500"}, Action: acquirer.ActRespond, Code: "95"})
		res, err = l.term.Settle(bg)
		if err != nil || !res.Balanced || res.Uploaded != 1 || l.term.Batch() != 3 {
			t.Fatalf("settle after 95: %v %+v", err, res)
		}
		if !strings.Contains(l.texts(EventAlert), "out of balance") {
			t.Errorf("no out-of-balance alert")
		}
		l.checkNoSecrets()
	})
}
