package acquirer

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
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

// BenchmarkChipSale is one chip sale after another on one card, through
// dispatch with a durable ledger (synchronous=FULL): ARQC check, replay
// check and journal; the magstripe run sends the same sales without field
// 55, for comparison: the replay check adds no commit of its own.
func BenchmarkChipSale(b *testing.B) {
	for _, chip := range []bool{true, false} {
		b.Run(map[bool]string{true: "chip", false: "magstripe"}[chip], func(b *testing.B) {
			ctx := context.Background()
			l, err := ledger.Open(ctx, filepath.Join(b.TempDir(), "b.db"), ledger.Options{Synchronous: "FULL"})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			h, err := New(ctx, Config{Profile: benchProfile(), Ledger: l, Now: func() time.Time { return testNow }})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			raws := make([][]byte, b.N)
			for i := range raws {
				f := benchSale(i)
				if chip {
					chipATC(b, f, 100, uint16(i%65535+1), byte(i))
				}
				m, _ := iso.NewMessage(f)
				raws[i], _ = m.Pack()
			}
			b.ResetTimer()
			for i := range b.N {
				m, err := h.reader.unpack(raws[i])
				if err != nil {
					b.Fatal(err)
				}
				if resp := h.dispatch(h.parse(m, iso.MTIFinancialRequest), nil); rc(resp) != "00" {
					b.Fatalf("sale %d answered %s", i, rc(resp))
				}
			}
		})
	}
}
