package resilience

import (
	"context"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/internal/pgtest"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// Several hosts on one PostgreSQL ledger, each with its own Ledger handle
// (its own committer and caches), terminals talking to them over loopback
// TCP. The database is the test server's (POSSIM_TEST_POSTGRES, started by
// scripts/pg-test-server.sh); without it the tests skip, and fail in CI.

// startSharedHost runs a host on loopback with a ledger of its own on dsn.
func startSharedHost(t *testing.T, dsn string, p *profile.Profile) (string, *ledger.Ledger) {
	t.Helper()
	ctx := context.Background()
	led, err := ledger.Open(ctx, dsn, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	h, err := acquirer.New(ctx, acquirer.Config{Profile: p, Ledger: led, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return h.Addr(), led
}

// twoHosts starts two hosts on one fresh database.
func twoHosts(t *testing.T, p *profile.Profile) ([2]string, *ledger.Ledger) {
	t.Helper()
	dsn := pgtest.Schema(t)
	a, led := startSharedHost(t, dsn, p)
	b, _ := startSharedHost(t, dsn, p)
	return [2]string{a, b}, led
}

// dial connects a copy of tm (same terminal ID and card) to addr.
func dial(t *testing.T, tm *Terminal, addr string) *Terminal {
	t.Helper()
	c := *tm
	c.nc, c.br = nil, nil
	if err := c.Dial(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &c
}

func loadMerchant(p *profile.Profile, id string) *profile.Merchant {
	for i := range p.Merchants {
		if p.Merchants[i].ID == id {
			return &p.Merchants[i]
		}
	}
	return nil
}

// TestTwoHostsDuplicate: one sale sent to both hosts at once is journaled
// once, approved by one host and answered 94 by the other.
func TestTwoHostsDuplicate(t *testing.T) {
	addrs, led := twoHosts(t, profile.Default())
	terms, err := loadTerminals(profile.Default(), 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := dial(t, terms[0], addrs[0]), dial(t, terms[0], addrs[1])
	for i := range 10 {
		now := time.Now()
		a.SetSTAN(100 + i)
		b.SetSTAN(100 + i)
		ma, mb := a.Sale(1000, now), b.Sale(1000, now)
		var ra, rb string
		var wg sync.WaitGroup
		wg.Go(func() {
			r, err := a.Send(ma)
			if err != nil {
				t.Error(err)
				return
			}
			ra = RC(r)
		})
		wg.Go(func() {
			r, err := b.Send(mb)
			if err != nil {
				t.Error(err)
				return
			}
			rb = RC(r)
		})
		wg.Wait()
		if !(ra == iso.RCApproved && rb == iso.RCDuplicate) && !(ra == iso.RCDuplicate && rb == iso.RCApproved) {
			t.Errorf("sale %d sent to both hosts: answered %s and %s, want 00 from one and 94 from the other", i, ra, rb)
		}
	}
	n, _, err := led.Stats(context.Background())
	if err != nil || n != 10 {
		t.Errorf("%d entries (%v), want 10", n, err)
	}
	verifyClean(t, led)
}

// TestTwoHostsReversalAtOtherHost: a reversal sent to the host that did
// not approve the sale finds it and takes its money back.
func TestTwoHostsReversalAtOtherHost(t *testing.T) {
	addrs, led := twoHosts(t, profile.Default())
	terms, err := loadTerminals(profile.Default(), 1)
	if err != nil {
		t.Fatal(err)
	}
	a := dial(t, terms[0], addrs[0])
	b := dial(t, terms[0], addrs[1])
	for i := range 5 {
		a.SetSTAN(200 + 2*i - 1)
		s := a.Sale(5000, time.Now())
		if r, err := a.Send(s); err != nil || RC(r) != iso.RCApproved {
			t.Fatalf("sale %d: %v %v", i, RC(r), err)
		}
		b.SetSTAN(200 + 2*i)
		r, err := b.Send(b.Reversal(s, time.Now()))
		if err != nil || RC(r) != iso.RCApproved {
			t.Fatalf("reversal %d at the other host: %v %v", i, RC(r), err)
		}
	}
	if bal, err := led.Balance(context.Background(), terms[0].Merchant); err != nil || bal != 0 {
		t.Errorf("balance %d (%v) after every sale was reversed at the other host, want 0", bal, err)
	}
	verifyClean(t, led)
}

// TestTwoHostsD0Limit: the merchant's daily real-time limit holds over
// both hosts' sales together.
func TestTwoHostsD0Limit(t *testing.T) {
	p := profile.Default()
	terms, err := loadTerminals(p, 8)
	if err != nil {
		t.Fatal(err)
	}
	m := loadMerchant(p, terms[0].Merchant)
	m.RealtimePerTxn, m.RealtimeDaily = 100000, 1000000 // ten sales of 1,000.00
	addrs, led := twoHosts(t, p)
	var wg sync.WaitGroup
	for i, tm := range terms {
		c := dial(t, tm, addrs[i%2])
		wg.Go(func() {
			for range 5 {
				if r, err := c.Send(c.Sale(100000, time.Now())); err != nil || RC(r) != iso.RCApproved {
					t.Errorf("sale at %s: %v %v", c.ID, RC(r), err)
				}
			}
		})
	}
	wg.Wait()
	now := time.Now()
	ps, err := led.Postings(context.Background(), m.ID, now.Add(-24*time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var d0 int64
	for _, p := range ps {
		if p.Type == ledger.PostD0Credit {
			d0 += p.Gross
		}
	}
	if d0 != 1000000 {
		t.Errorf("D0 credited %d across two hosts, want exactly the daily limit 1000000", d0)
	}
	verifyClean(t, led)
}

// TestTwoHostsCardDailyCount: a card's daily count holds over both hosts.
func TestTwoHostsCardDailyCount(t *testing.T) {
	p := profile.Default()
	terms, err := loadTerminals(p, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Cards {
		p.Cards[i].DailyCount = 5
	}
	addrs, led := twoHosts(t, p)
	card := terms[0].Card
	var mu sync.Mutex
	approved := 0
	var wg sync.WaitGroup
	for i, tm := range terms {
		tm.Card = card // every terminal pays with the same card
		c := dial(t, tm, addrs[i%2])
		wg.Go(func() {
			for range 3 {
				r, err := c.Send(c.Sale(100, time.Now()))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if RC(r) == iso.RCApproved {
					approved++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if approved != 5 {
		t.Errorf("%d sales of one card approved across two hosts, want 5 (its daily count)", approved)
	}
	verifyClean(t, led)
}

func verifyClean(t *testing.T, led *ledger.Ledger) {
	t.Helper()
	bs, err := led.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		t.Errorf("breach: %s", b)
	}
}

// TestHostDatabaseGoneAndBack: the server drops every connection of a
// host's ledger (as a restart does). Sales are answered 96 or journaled,
// never approved without being committed, and the host approves again once
// its ledger has connected again.
func TestHostDatabaseGoneAndBack(t *testing.T) {
	dsn := pgtest.Schema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	app := "possim-gone-" + hex.EncodeToString([]byte(t.Name()))[:16]
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	addr, led := startSharedHost(t, u.String(), profile.Default())
	terms, err := loadTerminals(profile.Default(), 1)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, terms[0], addr)
	var approved []ledger.Key
	sell := func() string {
		t.Helper()
		m := c.Sale(100, time.Now())
		r, err := c.Send(m)
		if err != nil {
			t.Fatalf("sale: %v", err)
		}
		if RC(r) == iso.RCApproved {
			approved = append(approved, keyOf(m))
		}
		return RC(r)
	}
	if rc := sell(); rc != iso.RCApproved {
		t.Fatalf("first sale answered %s", rc)
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var killed int
	if err := raw.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		app).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminating the host's connections: %d %v", killed, err)
	}
	codes := map[string]int{}
	for range 12 {
		rc := sell()
		codes[rc]++
		if rc != iso.RCApproved && rc != iso.RCSystemError {
			t.Errorf("sale while the database came back answered %s", rc)
		}
	}
	t.Logf("after the connections were dropped: %v", codes)
	if rc := sell(); rc != iso.RCApproved {
		t.Errorf("the host did not approve again once connected: %s (%v)", rc, codes)
	}
	for _, k := range approved {
		if e, ok, err := led.Lookup(context.Background(), k); err != nil || !ok || e.RespCode != iso.RCApproved {
			t.Errorf("approval %s not journaled as approved: %v %v", k, ok, err)
		}
	}
	verifyClean(t, led)
}
