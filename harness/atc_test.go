package harness

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
	"github.com/possim/possim/simulators/terminal"
)

// Labs run one after another against one host (an external run, one lab
// per scenario) share the terminal's state, and with it the counters of
// their cards: the host would decline a repeated counter as a replay.
func TestExternalLabsCardsGoOnCounting(t *testing.T) {
	ctx := context.Background()
	led, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "host.db"), ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	h, err := acquirer.New(ctx, acquirer.Config{Profile: profile.Default(), Ledger: led})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	store := terminal.FileStore(filepath.Join(t.TempDir(), "terminal.json"))
	for run := range 2 {
		lab, err := New(ctx, Config{Mode: External, HostAddr: h.Addr(), Dir: t.TempDir(), Seed: 1, TerminalStore: store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lab.Terminal.PowerOn(ctx); err != nil {
			t.Fatal(err)
		}
		if !lab.Terminal.SignedOn() {
			if err := lab.Terminal.SignOn(ctx); err != nil {
				t.Fatal(err)
			}
		}
		lab.Reader.Insert("visa-credit")
		lab.PINPad.Type("1234")
		x, err := lab.Terminal.Sale(ctx, terminal.SaleRequest{Amount: 1000})
		if err != nil || x.Status != terminal.StatusApproved {
			t.Errorf("run %d: sale: %v", run+1, err)
		}
		lab.Close()
	}
}
