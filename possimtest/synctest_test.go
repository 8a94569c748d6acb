package possimtest_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/possim/possim/possimtest"
)

// TestLabInSynctestBubble builds an in-memory lab inside a synctest
// bubble and makes a sale: the lab must start no goroutine outside the
// bubble, wait on nothing but the bubble's clock and in-memory links, and
// have ended every goroutine when its cleanup runs, or synctest.Test fails.
func TestLabInSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lab := possimtest.NewLab(t)
		res, err := lab.Terminal().Sale(t.Context(), possimtest.Sale{Amount: 1234, Card: "visa-credit", PIN: "1234"})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Approved() || res.ResponseCode != "00" {
			t.Fatalf("sale = %s %s (%s); want approved 00", res.Status, res.ResponseCode, res.Reason)
		}
		if err := lab.Host().Ledger().Verify(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLabInSynctestBubbleVirtualTime delays the host's answer longer than
// the terminal waits: in the bubble the terminal's timeout and the host's
// delay run on the fake clock, so the reversal comes at once and the
// clock has moved by exactly the terminal's wait.
func TestLabInSynctestBubbleVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lab := possimtest.NewLab(t)
		if _, err := lab.Host().SetFault(possimtest.Fault{Action: possimtest.FaultDelay, Delay: time.Hour,
			Match: possimtest.FaultMatch{MTI: "0200"}}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res, err := lab.Terminal().Sale(t.Context(), possimtest.Sale{Amount: 1234, Card: "visa-credit", PIN: "1234"})
		if err != nil {
			t.Fatal(err)
		}
		waited := time.Since(start)
		if res.Status != "reversed" {
			t.Fatalf("sale = %s %s (%s); want reversed after the host's silence", res.Status, res.ResponseCode, res.Reason)
		}
		if waited <= 0 || waited >= time.Hour {
			t.Errorf("the sale took %v of the bubble's clock; want the terminal's timeout, under the host's hour", waited)
		}
		t.Logf("reversed after %v of virtual time", waited)
	})
}
