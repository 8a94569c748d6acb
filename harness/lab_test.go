package harness

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/terminal"
)

// TestVirtualLabSale runs the core of the merchant flow in a virtual lab,
// in virtual time: power on, sign on, a chip-and-PIN sale, a host that
// stops answering (the terminal reverses after its 30 s timeout), and a
// balanced settlement.
func TestVirtualLabSale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		lab, err := New(ctx, Config{Dir: t.TempDir(), Seed: 1, Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		defer lab.Close()
		if st, err := lab.Terminal.PowerOn(ctx); err != nil {
			t.Fatalf("power on: %v (%+v)", err, st)
		}
		if err := lab.Terminal.SignOn(ctx); err != nil {
			t.Fatal(err)
		}
		if err := lab.Reader.Insert("visa-credit"); err != nil {
			t.Fatal(err)
		}
		if err := lab.PINPad.Type("1234"); err != nil {
			t.Fatal(err)
		}
		txn, err := lab.Terminal.Sale(ctx, terminal.SaleRequest{Amount: 10000})
		if err != nil {
			t.Fatalf("sale: %v", err)
		}
		if txn.Status != terminal.StatusApproved || txn.ResponseCode != "00" {
			t.Fatalf("sale = %+v", txn)
		}
		bal, err := lab.Ledger.Balance(ctx, "123456789012345")
		if err != nil || bal != 9940 {
			t.Errorf("Demo Mart balance = %d, %v; want 9940 (100.00 less 0.60%%, credited D0)", bal, err)
		}
		rc, ok := lab.Printer.LastReceipt()
		if !ok || !strings.Contains(rc.Text, "476173******0010") || strings.Contains(rc.Text, "4761739001010010") {
			t.Errorf("receipt does not show the masked PAN only:\n%s", rc.Text)
		}
		lab.Reader.Remove()

		// The host stops answering: 30 s of virtual time, then a reversal.
		if _, err := lab.Host.Faults().Add(hostDrop()); err != nil {
			t.Fatal(err)
		}
		lab.Reader.Insert("visa-credit")
		lab.PINPad.Type("1234")
		start := time.Now()
		txn, _ = lab.Terminal.Sale(ctx, terminal.SaleRequest{Amount: 2000})
		if txn == nil || txn.Status != terminal.StatusReversed {
			t.Fatalf("sale with no answer = %+v; want reversed", txn)
		}
		if waited := time.Since(start); waited < 30*time.Second {
			t.Errorf("terminal gave up after %v; want its 30 s response timeout", waited)
		}
		lab.Reader.Remove()
		lab.Host.Faults().Clear()

		res, err := lab.Terminal.Settle(ctx)
		if err != nil || !res.Balanced {
			t.Errorf("settle = %+v, %v; want balanced", res, err)
		}
		var timeline bytes.Buffer
		lab.Recorder.WriteJSONL(&timeline)
		if bytes.Contains(timeline.Bytes(), []byte("4761739001010010")) {
			t.Error("the timeline holds a full PAN")
		}
		if len(lab.Recorder.Ladder()) < 6 {
			t.Errorf("ladder has %d messages", len(lab.Recorder.Ladder()))
		}
	})
}

func hostDrop() acquirer.Fault {
	return acquirer.Fault{Name: "no answer", Match: acquirer.Match{MTI: "0200"}, Action: acquirer.ActDrop}
}
