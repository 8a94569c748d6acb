package acquirer

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// chipATC adds field 55 with a correct ARQC made at counter atc.
func chipATC(t testing.TB, f *iso.Financial, amount int64, atc uint16, un byte) {
	t.Helper()
	r := card.ICCRequest{Amount: amount, CountryCode: "0156", CurrencyCode: "0156", Date: "261125",
		UnpredictableNumber: [4]byte{un, 2, 3, 4}, AIP: [2]byte{0x39, 0x00}, ATC: atc, PANSeq: "01"}
	mk, err := card.DeriveICCMasterKey(profile.Default().Keys.IMK(), f.PAN, "01")
	if err != nil {
		t.Fatal(err)
	}
	sk, err := card.SessionKey(mk, atc)
	if err != nil {
		t.Fatal(err)
	}
	arqc, err := card.ARQC(sk, card.CDOL1Data(r))
	if err != nil {
		t.Fatal(err)
	}
	f.ICC = card.BuildICCData(r, arqc)
	f.CardSeq = "001"
}

// A cryptogram whose counter is not above the last accepted one for the
// card is a replay, declined 63, also after the host restarts on the same
// journal.
func TestReplayedCryptogramDeclined(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	led := openLedger(t, dir)
	h := startHost(t, func(c *Config) { c.Ledger = led; c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	tm := dial(t, h.Addr())
	steps := []struct {
		name string
		atc  uint16
		un   byte
		want string
	}{
		{"first use", 7, 1, "00"},
		{"same cryptogram, new STAN", 7, 1, RCReplayedCryptogram},
		{"same counter, new unpredictable number", 7, 2, RCReplayedCryptogram},
		{"older counter", 6, 3, RCReplayedCryptogram},
		{"next counter", 8, 4, "00"},
	}
	for _, s := range steps {
		f := tm.sale(visa, 100)
		chipATC(t, f, 100, s.atc, s.un)
		if got := rc(tm.mustSend(f)); got != s.want {
			t.Errorf("%s (ATC %d): answered %s; want %s", s.name, s.atc, got, s.want)
		}
	}
	if out := logs.String(); !strings.Contains(out, "replayed cryptogram: ATC 7 is not above 7") || strings.Contains(out, visa) {
		t.Errorf("log does not say why (or shows the PAN):\n%s", out)
	}

	// Restart on the same journal: the counter is remembered.
	h.Close()
	led.Close()
	led2 := openLedger(t, dir)
	h2 := startHost(t, func(c *Config) { c.Ledger = led2 })
	t.Cleanup(func() { led2.Close() })
	tm2 := dial(t, h2.Addr())
	for _, s := range []struct {
		atc  uint16
		want string
	}{{8, RCReplayedCryptogram}, {9, "00"}} {
		f := tm2.sale(visa, 100)
		chipATC(t, f, 100, s.atc, 9)
		if got := rc(tm2.mustSend(f)); got != s.want {
			t.Errorf("after restart, ATC %d: answered %s; want %s", s.atc, got, s.want)
		}
	}
	// A swiped sale has no cryptogram and no counter to check.
	f := tm2.sale(visa, 100)
	if got := rc(tm2.mustSend(f)); got != "00" {
		t.Errorf("swiped sale answered %s", got)
	}
}
