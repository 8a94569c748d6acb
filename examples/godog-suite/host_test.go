package pos_test

import (
	"testing"
	"time"

	"github.com/possim/possim/possimtest"
)

// TestLostCard makes an approved sale against possim's mock acquirer,
// turns the card lost at the issuer, sees the next sale declined 41, and
// checks that the ledger credited the merchant for the first sale only.
func TestLostCard(t *testing.T) {
	ctx := t.Context()
	host := possimtest.NewHost(t)
	term := possimtest.NewTerminal(t, host.Addr())

	first, err := term.Sale(ctx, possimtest.Sale{Amount: 10000, Card: "visa-credit", PIN: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Approved() {
		t.Fatalf("first sale: %s %s (%s); want approved", first.Status, first.ResponseCode, first.Reason)
	}

	if err := host.SetCardStatus("visa-credit", "lost"); err != nil {
		t.Fatal(err)
	}
	second, err := term.Sale(ctx, possimtest.Sale{Amount: 2500, Card: "visa-credit", PIN: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	if second.Status != "declined" || second.ResponseCode != "41" {
		t.Fatalf("sale with the lost card: %s %s; want declined 41", second.Status, second.ResponseCode)
	}

	// D0: the approved 100.00 is on the merchant's account today, less
	// the profile's 0.60% card fee; the declined sale moved nothing.
	balance, err := host.Ledger().Balance(ctx, term.MerchantID())
	if err != nil {
		t.Fatal(err)
	}
	if balance != 9940 {
		t.Errorf("balance = %d; want 9940 (10000 less the 60 fee)", balance)
	}
	st, err := host.Ledger().Statement(ctx, term.MerchantID(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 1 || st.Gross != 10000 || st.Fees != 60 || st.SettledD0 != 9940 || st.DeclinedCount != 1 {
		t.Errorf("day's statement: %d sales, gross %d, fees %d, settled D0 %d, %d declined; want 1, 10000, 60, 9940, 1",
			st.Count, st.Gross, st.Fees, st.SettledD0, st.DeclinedCount)
	}
	if err := host.Ledger().Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
