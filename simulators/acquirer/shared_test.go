package acquirer

import (
	"context"
	"sync"
	"testing"

	"github.com/possim/possim/internal/pgtest"
	"github.com/possim/possim/simulators/ledger"
)

// TestPINTriesAcrossHosts: two hosts on one PostgreSQL ledger count a
// card's wrong PINs together, and a reset at one unblocks it at both.
func TestPINTriesAcrossHosts(t *testing.T) {
	dsn := pgtest.Schema(t)
	var hosts [2]*Host
	var terms [2]*terminal
	for i := range hosts {
		l, err := ledger.Open(context.Background(), dsn, ledger.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		hosts[i] = startHost(t, func(c *Config) { c.Ledger = l })
		terms[i] = dial(t, hosts[i].Addr())
		terms[i].signOn()
	}
	for i, s := range []struct {
		host      int
		pin, want string
	}{
		{0, "1111", "55"},
		{1, "2222", "55"},
		{0, "3333", "75"}, // the third wrong PIN, over both hosts
		{1, "1234", "75"}, // blocked at the other host too
	} {
		tm := terms[s.host]
		if c := rc(tm.mustSend(tm.withPIN(tm.sale(visa, 100), s.pin))); c != s.want {
			t.Errorf("try %d at host %d (PIN %s) answered %s; want %s", i+1, s.host, s.pin, c, s.want)
		}
	}
	if err := hosts[0].ResetPINTries("visa-credit"); err != nil {
		t.Fatal(err)
	}
	if c := rc(terms[1].mustSend(terms[1].withPIN(terms[1].sale(visa, 100), "1234"))); c != "00" {
		t.Errorf("after a reset at the other host answered %s; want 00", c)
	}
}

// TestReplayAcrossHosts: one cryptogram sent to two hosts on one ledger at
// once is accepted by one of them only; the other answers 63.
func TestReplayAcrossHosts(t *testing.T) {
	dsn := pgtest.Schema(t)
	var terms [2]*terminal
	for i := range terms {
		l, err := ledger.Open(context.Background(), dsn, ledger.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		terms[i] = dial(t, startHost(t, func(c *Config) { c.Ledger = l }).Addr())
	}
	for atc := uint16(7); atc < 12; atc++ {
		var codes [2]string
		var wg sync.WaitGroup
		for i, tm := range terms {
			f := tm.sale(visa, 100)
			chipATC(t, f, 100, atc, 1)
			wg.Go(func() {
				resp, err := tm.send(f)
				if err != nil {
					t.Error(err)
					return
				}
				codes[i] = rc(resp)
			})
		}
		wg.Wait()
		if !(codes[0] == "00" && codes[1] == RCReplayedCryptogram) && !(codes[1] == "00" && codes[0] == RCReplayedCryptogram) {
			t.Errorf("ATC %d at both hosts answered %v; want 00 from one and %s from the other", atc, codes, RCReplayedCryptogram)
		}
	}
}
