package terminal

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/possim/possim/card"
	"github.com/possim/possim/virtualdevices/cardreader"
)

// readerSpy records the unpredictable number of every card request.
type readerSpy struct {
	CardReader
	mu  sync.Mutex
	uns [][4]byte
}

func (r *readerSpy) WaitCard(ctx context.Context, req cardreader.Request) (cardreader.Read, error) {
	r.mu.Lock()
	r.uns = append(r.uns, req.UnpredictableNumber)
	r.mu.Unlock()
	return r.CardReader.WaitCard(ctx, req)
}

// Two runs of a terminal built the same way (as possim terminal does at
// each command) must not send the same unpredictable number, or the card's
// cryptogram can repeat.
func TestUnpredictableNumberFreshPerRun(t *testing.T) {
	var got [][4]byte
	for range 2 {
		synctest.Test(t, func(t *testing.T) {
			spy := &readerSpy{}
			l := newLab(t, func(c *Config) { spy.CardReader = c.Reader; c.Reader = spy })
			l.ready()
			l.sale(1000)
			if len(spy.uns) != 1 {
				t.Fatalf("%d card requests, want 1", len(spy.uns))
			}
			got = append(got, spy.uns[0])
		})
	}
	if got[0] == got[1] {
		t.Errorf("both runs sent unpredictable number %x", got[0])
	}
}

// A seeded source replays the same numbers, for labs that must repeat.
func TestUnpredictableNumberSeeded(t *testing.T) {
	l := newLab(t)
	mk := func() [4]byte {
		tm, err := New(Config{Profile: l.p, Dial: l.dial, Rand: rand.New(rand.NewSource(7))})
		if err != nil {
			t.Fatal(err)
		}
		defer tm.Close()
		return tm.unpredictable()
	}
	if a, b := mk(), mk(); a != b {
		t.Errorf("seeded terminals drew %x and %x", a, b)
	}
}

// The state file must not show which transactions used the same card.
func TestSealedCardsDoNotRepeat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "term.json")
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, func(c *Config) { c.Store = FileStore(path) })
		l.ready()
		a := l.sale(1000)
		b := l.sale(2000)
		l.term.Close()
		var s Saved
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		ca, cb := s.Cards["txn:"+a.STAN], s.Cards["txn:"+b.STAN]
		if ca == "" || ca == cb {
			t.Fatalf("two sales of one card sealed as %q and %q", ca, cb)
		}
		// Swapping two records must not go unnoticed.
		s.Cards["txn:"+a.STAN], s.Cards["txn:"+b.STAN] = cb, ca
		if err := FileStore(path).Save(&s); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{Profile: l.p, Dial: l.dial, Store: FileStore(path)}); err == nil || !strings.Contains(err.Error(), "start clean") {
			t.Errorf("swapped card records loaded: %v", err)
		}
	})
}

// A state file of the first format (3DES ECB records) still loads.
func TestOldSealedCardsStillRead(t *testing.T) {
	l := newLab(t)
	tmk := l.p.Keys.TMK()
	p := []byte("4761739001010010=3012")
	for len(p)%8 != 0 {
		p = append(p, ' ')
	}
	var enc []byte
	for i := 0; i < len(p); i += 8 {
		b, err := card.TDESEncrypt(tmk, p[i:i+8])
		if err != nil {
			t.Fatal(err)
		}
		enc = append(enc, b...)
	}
	st := &memStore{s: &Saved{STAN: 5, Batch: 1, Log: []Txn{{Kind: KindSale, STAN: "000005"}},
		Cards: map[string]string{"txn:000005": hex.EncodeToString(enc)}}}
	tm, err := New(Config{Profile: l.p, Dial: l.dial, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if x := tm.data.Log[0]; x.pan != "4761739001010010" || x.expiry != "3012" {
		t.Fatalf("old record read as %q %q", x.pan, x.expiry)
	}
	_, _ = tm.PowerOn(bg) // saves, with devices missing
	if s := st.s.Cards["txn:000005"]; !strings.HasPrefix(s, sealPrefix) {
		t.Errorf("old record not sealed again at the next save: %q", s)
	}
}

// The terminal keeps the counter of each card it reads, across restarts.
func TestCardATCKept(t *testing.T) {
	st := &memStore{}
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, func(c *Config) { c.Store = st })
		l.ready()
		l.sale(1000)
		l.sale(1000)
		l.reader.Remove()
		l.reader.Swipe("swipe-only")
		if _, err := l.term.Sale(bg, SaleRequest{Amount: 100, Signature: true}); err != nil {
			t.Fatal(err)
		}
	})
	l := newLab(t, func(c *Config) { c.Store = st })
	if got := l.term.CardATC("visa-credit"); got != 2 {
		t.Errorf("visa-credit ATC after restart %d, want 2", got)
	}
	if got := l.term.CardATC("swipe-only"); got != 0 {
		t.Errorf("a swiped card has ATC %d", got)
	}
}

// memStore keeps the state in memory, as JSON like the file.
type memStore struct{ s *Saved }

func (m *memStore) Load() (*Saved, error) {
	if m.s == nil {
		return nil, nil
	}
	b, err := json.Marshal(m.s)
	if err != nil {
		return nil, err
	}
	var s Saved
	return &s, json.Unmarshal(b, &s)
}

func (m *memStore) Save(s *Saved) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var c Saved
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	m.s = &c
	return nil
}

func (l *lab) dial(context.Context) (net.Conn, error) { return l.host.dial() }
