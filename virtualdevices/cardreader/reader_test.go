package cardreader

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
)

// lab is a reader and a driver joined by an in-memory pipe.
type lab struct {
	r      *Reader
	d      *Driver
	imk    []byte
	mu     sync.Mutex
	events []Event
}

func (l *lab) kinds() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Kind)
	}
	return out
}

// newLab must run inside a synctest bubble; Cleanup closes both ends.
func newLab(t *testing.T) *lab {
	t.Helper()
	p := profile.Default()
	l := &lab{imk: p.Keys.IMK()}
	r, err := New(Config{
		Cards:           CardsFromProfile(p.Cards),
		IssuerMasterKey: l.imk,
		OnEvent: func(e Event) {
			l.mu.Lock()
			l.events = append(l.events, e)
			l.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	dev, pos := serial.Pipe()
	r.Attach(dev)
	l.r = r
	l.d = NewDriver(pos, DriverConfig{})
	t.Cleanup(func() {
		l.d.Close()
		r.Close()
		l.checkMasked(t)
	})
	return l
}

// checkMasked fails if any event carries a full PAN.
func (l *lab) checkMasked(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		for _, c := range profile.Default().Cards {
			if strings.Contains(e.Detail, c.PAN) {
				t.Errorf("event %+v carries a clear PAN", e)
			}
		}
	}
}

var sale = Request{
	Amount: 1234, Date: "261125", CurrencyCode: "156", CountryCode: "156",
	UnpredictableNumber: [4]byte{0xDE, 0xAD, 0xBE, 0xEF}, Timeout: 30 * time.Second,
}

// verifyAtHost plays the acquirer: parse field 55, check the ARQC with the
// issuer master key, and return the ARPC for rc.
func verifyAtHost(t *testing.T, imk []byte, rd Read, rc string) []byte {
	t.Helper()
	req, arqc, err := card.ParseICCData(rd.ICC)
	if err != nil {
		t.Fatalf("parsing field 55: %v", err)
	}
	if req.Amount != sale.Amount || req.Date != sale.Date || req.CurrencyCode != "0156" ||
		req.UnpredictableNumber != sale.UnpredictableNumber {
		t.Errorf("field 55 carries %+v, not the terminal's request", req)
	}
	sk, err := card.VerifyARQC(imk, rd.PAN, req, arqc)
	if err != nil {
		t.Fatalf("host: %v", err)
	}
	arpc, err := card.ARPC1(sk, arqc, rc)
	if err != nil {
		t.Fatal(err)
	}
	return arpc
}

func TestChipSale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		ctx := t.Context()
		if err := l.d.Status(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.r.Insert("visa-credit"); err != nil {
			t.Fatal(err)
		}
		rd, err := l.d.WaitCard(ctx, sale)
		if err != nil {
			t.Fatal(err)
		}
		if rd.Entry != EntryChip || rd.PAN != "4761739001010010" || rd.Expiry != "3012" || rd.ServiceCode != "201" {
			t.Errorf("read = %+v", rd)
		}
		if tr, err := card.ParseTrack2(rd.Track2); err != nil || tr.PAN != rd.PAN {
			t.Errorf("track 2 equivalent: %+v, %v", tr, err)
		}
		req, _, _ := card.ParseICCData(rd.ICC)
		if req.ATC != 1 {
			t.Errorf("first ATC = %d, want 1", req.ATC)
		}
		arpc := verifyAtHost(t, l.imk, rd, "00")
		if err := l.d.Complete(ctx, arpc, "00"); err != nil {
			t.Fatalf("Complete: %v", err)
		}

		// The card is still inserted: the next sale reads it again with
		// the next ATC, and a forged ARPC is refused.
		rd, err = l.d.WaitCard(ctx, sale)
		if err != nil {
			t.Fatal(err)
		}
		req, _, _ = card.ParseICCData(rd.ICC)
		if req.ATC != 2 {
			t.Errorf("second ATC = %d, want 2", req.ATC)
		}
		arpc = verifyAtHost(t, l.imk, rd, "00")
		arpc[7] ^= 1
		if err := l.d.Complete(ctx, arpc, "00"); !errors.Is(err, ErrARPC) {
			t.Fatalf("forged ARPC: err = %v, want ErrARPC", err)
		}
		// Completing twice is refused by the reader.
		var de *DeviceError
		if err := l.d.Complete(ctx, arpc, "00"); !errors.As(err, &de) {
			t.Errorf("second completion: err = %v, want *DeviceError", err)
		}
		if present, err := l.d.CardPresent(ctx); err != nil || !present {
			t.Errorf("CardPresent = %v, %v", present, err)
		}
		go func() {
			time.Sleep(5 * time.Second)
			l.r.Remove()
		}()
		if err := l.d.WaitRemoved(ctx, time.Minute); err != nil {
			t.Errorf("WaitRemoved: %v", err)
		}
	})
}

func TestDeclineStillVerifiesARPC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		ctx := t.Context()
		l.r.Insert("mc-debit")
		rd, err := l.d.WaitCard(ctx, sale)
		if err != nil {
			t.Fatal(err)
		}
		arpc := verifyAtHost(t, l.imk, rd, "51")
		if err := l.d.Complete(ctx, arpc, "51"); err != nil {
			t.Errorf("declined completion: %v", err)
		}
	})
}

func TestFallbackToSwipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		ctx := t.Context()
		l.r.ChipError()
		if err := l.r.Insert("visa-credit"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.d.WaitCard(ctx, sale); !errors.Is(err, ErrChipRead) {
			t.Fatalf("err = %v, want ErrChipRead", err)
		}
		fb := sale
		fb.Modes = ModeSwipe
		go func() {
			time.Sleep(3 * time.Second) // the cashier takes the card out and swipes it
			if err := l.r.Swipe("visa-credit"); err != nil {
				t.Errorf("Swipe: %v", err)
			}
		}()
		rd, err := l.d.WaitCard(ctx, fb)
		if err != nil {
			t.Fatal(err)
		}
		if rd.Entry != EntryFallback || rd.ICC != nil || rd.ServiceCode != "201" {
			t.Errorf("fallback read = %+v", rd)
		}
		if t1, err := card.ParseTrack1(rd.Track1); err != nil || t1.PAN != rd.PAN || t1.Name != "DEMO/VISA CREDIT" {
			t.Errorf("track 1 = %+v, %v", t1, err)
		}
		// Nothing to complete for a stripe read.
		if err := l.d.Complete(ctx, make([]byte, 8), "00"); err != nil {
			t.Errorf("Complete after swipe: %v", err)
		}
		// The next swipe is an ordinary one again.
		l.r.Swipe("visa-credit")
		if rd, err := l.d.WaitCard(ctx, fb); err != nil || rd.Entry != EntrySwipe {
			t.Errorf("second swipe: %v, %v", rd.Entry, err)
		}
	})
}

func TestSwipeAndTap(t *testing.T) {
	for _, c := range []struct {
		name, alias string
		act         func(*Reader, string) error
		entry       EntryMode
		svc         string
	}{
		{"chip card swiped says 2xx", "visa-credit", (*Reader).Swipe, EntrySwipe, "201"},
		{"magstripe card", "swipe-only", (*Reader).Swipe, EntrySwipe, "101"},
		{"tap", "visa-credit", (*Reader).Tap, EntryTap, "201"},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				ctx := t.Context()
				// Presented before the WAIT: held for it.
				if err := c.act(l.r, c.alias); err != nil {
					t.Fatal(err)
				}
				rd, err := l.d.WaitCard(ctx, sale)
				if err != nil {
					t.Fatal(err)
				}
				if rd.Entry != c.entry || rd.ServiceCode != c.svc {
					t.Errorf("read = %s %s, want %s %s", rd.Entry, rd.ServiceCode, c.entry, c.svc)
				}
				if c.entry == EntryTap {
					arpc := verifyAtHost(t, l.imk, rd, "00")
					if err := l.d.Complete(ctx, arpc, "00"); err != nil {
						t.Errorf("Complete after tap: %v", err)
					}
				}
			})
		})
	}
}

func TestReaderFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		ctx := t.Context()

		l.r.BadSwipe()
		l.r.Swipe("mc-debit")
		if _, err := l.d.WaitCard(ctx, sale); !errors.Is(err, ErrBadSwipe) {
			t.Errorf("bad swipe: err = %v", err)
		}
		l.r.Swipe("mc-debit")
		if _, err := l.d.WaitCard(ctx, sale); err != nil {
			t.Errorf("swipe again: %v", err)
		}

		l.r.PullEarly()
		l.r.Insert("cup-debit")
		rd, err := l.d.WaitCard(ctx, sale)
		if err != nil {
			t.Fatal(err)
		}
		arpc := verifyAtHost(t, l.imk, rd, "00")
		if err := l.d.Complete(ctx, arpc, "00"); !errors.Is(err, ErrCardRemoved) {
			t.Errorf("pulled early: err = %v, want ErrCardRemoved", err)
		}

		// Removing by hand between read and completion is the same.
		l.r.Insert("cup-debit")
		rd, _ = l.d.WaitCard(ctx, sale)
		l.r.Remove()
		if err := l.d.Complete(ctx, verifyAtHost(t, l.imk, rd, "00"), "00"); !errors.Is(err, ErrCardRemoved) {
			t.Errorf("removed: err = %v, want ErrCardRemoved", err)
		}

		if _, err := l.d.WaitCard(ctx, sale); !errors.Is(err, ErrTimeout) {
			t.Errorf("nobody: err = %v, want ErrTimeout", err)
		}

		l.r.Unplug()
		if err := l.d.Status(ctx); !errors.Is(err, ErrNoReader) {
			t.Errorf("unplugged: err = %v, want ErrNoReader", err)
		}
		l.r.Plug()
		if err := l.d.Status(ctx); err != nil {
			t.Errorf("plugged again: %v", err)
		}
		want := []string{"fault", "swipe", "waiting", "bad-swipe", "swipe", "waiting", "read", "fault", "insert", "waiting", "read", "pulled", "arpc"}
		if got := l.kinds(); len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
			t.Errorf("events = %v, want prefix %v", got, want)
		}
	})
}

func TestCancelByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := l.d.WaitCard(ctx, sale)
			done <- err
		}()
		time.Sleep(time.Second)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		// The reader is idle again: a tap is held for the next WAIT.
		if err := l.d.Status(t.Context()); err != nil {
			t.Fatal(err)
		}
		l.r.Tap("visa-credit")
		if rd, err := l.d.WaitCard(t.Context(), sale); err != nil || rd.Entry != EntryTap {
			t.Errorf("after cancel: %v, %v", rd.Entry, err)
		}
	})
}

func TestOperatorErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		err := l.r.Insert("platinum")
		if err == nil || !strings.Contains(err.Error(), "visa-credit") || !strings.Contains(err.Error(), "swipe-only") {
			t.Errorf("unknown alias: %v (want the known aliases listed)", err)
		}
		if err := l.r.Insert("swipe-only"); err == nil {
			t.Error("magstripe-only card inserted")
		}
		if err := l.r.Swipe("cup-debit"); err == nil {
			t.Error("chip-only card swiped")
		}
		if err := l.r.Tap("mc-debit"); err == nil {
			t.Error("contact-only card tapped")
		}
		l.r.Insert("visa-credit")
		if err := l.r.Insert("mc-debit"); err == nil {
			t.Error("two cards in the slot")
		}
		// A pending swipe-only WAIT refuses a tap.
		fb := sale
		fb.Modes = ModeSwipe
		done := make(chan error)
		go func() { _, err := l.d.WaitCard(t.Context(), fb); done <- err }()
		synctest.Wait()
		if err := l.r.Tap("visa-credit"); err == nil {
			t.Error("tap accepted by a swipe-only WAIT")
		}
		l.r.Swipe("mc-debit")
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := CardsFromProfile(profile.Default().Cards)
	for name, cfg := range map[string]Config{
		"no key":    {Cards: good},
		"dup alias": {Cards: append(good[:1:1], good[0]), IssuerMasterKey: make([]byte, 16)},
		"bad PAN":   {Cards: []Card{{Alias: "x", PAN: "12", Expiry: "3012", ServiceCode: "201", Chip: true}}, IssuerMasterKey: make([]byte, 16)},
		"no iface":  {Cards: []Card{{Alias: "x", PAN: "4761739001010010", Expiry: "3012", ServiceCode: "201"}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestProtocolErrors speaks raw frames, as a POS developer's code would.
func TestProtocolErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := profile.Default()
		r, err := New(Config{Cards: CardsFromProfile(p.Cards), IssuerMasterKey: p.Keys.IMK()})
		if err != nil {
			t.Fatal(err)
		}
		dev, pos := serial.Pipe()
		r.Attach(dev)
		link := serial.NewFrameLink(pos, serial.FrameConfig{})
		defer r.Close()
		defer link.Close()
		ctx := t.Context()
		for _, c := range []struct{ cmd, want string }{
			{"STATUS", "STATUS OK EMPTY"},
			{"HELLO", "HELLO ERR unknown command"},
			{"", "? ERR empty command"},
			{"WAIT", "WAIT ERR want WAIT <timeout_ms> <amount> <modes>"},
			{"WAIT 1000 12 FLY", `WAIT ERR unknown mode "FLY" (want CHIP, TAP, SWIPE)`},
			{"WAIT 0 12 CHIP", "WAIT ERR timeout \"0\" must be 1..600000 ms"},
			{"WAIT 1000 -1 CHIP", "WAIT ERR amount \"-1\" must be 0..999999999999 minor units"},
			{"WAIT 1000 1 CHIP UN=12", `WAIT ERR UN "12" must be 8 hex digits`},
			{"WAIT 1000 1 CHIP", "WAIT TIMEOUT"},
			{"ARPC 00", "ARPC ERR want ARPC <16 hex digits> <2-character response code>"},
			{"ARPC 0000000000000000 00", "ARPC ERR no transaction to complete"},
			{"REMOVE?", "REMOVE? OK EMPTY"},
			{"CANCEL", "CANCEL OK"},
		} {
			if err := link.Send(ctx, []byte(c.cmd)); err != nil {
				t.Fatal(err)
			}
			got, err := link.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("%q -> %q, want %q", c.cmd, got, c.want)
			}
		}
		// CANCEL during WAIT: WAIT's answer comes first.
		link.Send(ctx, []byte("WAIT 60000 100 CHIP"))
		link.Send(ctx, []byte("CANCEL"))
		var got []string
		for range 2 {
			b, _ := link.Recv(ctx)
			got = append(got, string(b))
		}
		if strings.Join(got, "|") != "WAIT CANCEL|CANCEL OK" {
			t.Errorf("cancel answers = %q", got)
		}
		// A read's answer, field by field.
		r.Swipe("swipe-only")
		link.Send(ctx, []byte("WAIT 1000 100 SWIPE"))
		b, _ := link.Recv(ctx)
		want := "WAIT OK SWIPE\nPAN=5413330089020011\nEXP=3012\nSVC=101\nNAME=DEMO/SWIPE ONLY\n" +
			"T2=5413330089020011=30121010000000000\nT1=%B5413330089020011^DEMO/SWIPE ONLY^30121010000000000?"
		if !bytes.Equal(b, []byte(want)) {
			t.Errorf("swipe answer:\n%s\nwant\n%s", b, want)
		}
	})
}

// TestUnpredictableNumberFromRand: with no UN from the terminal, the reader
// draws one from its seeded source, so runs repeat exactly.
func TestUnpredictableNumberFromRand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := profile.Default()
		r, err := New(Config{Cards: CardsFromProfile(p.Cards), IssuerMasterKey: p.Keys.IMK(), Rand: rand.New(rand.NewPCG(7, 7))})
		if err != nil {
			t.Fatal(err)
		}
		dev, pos := serial.Pipe()
		r.Attach(dev)
		d := NewDriver(pos, DriverConfig{})
		defer r.Close()
		defer d.Close()
		req := sale
		req.UnpredictableNumber = [4]byte{}
		u := rand.New(rand.NewPCG(7, 7)).Uint32()
		want := [4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}
		r.Tap("visa-credit")
		rd, err := d.WaitCard(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := card.ParseICCData(rd.ICC)
		if err != nil {
			t.Fatal(err)
		}
		if got.UnpredictableNumber != want {
			t.Errorf("UN = %X, want %X from the seeded source", got.UnpredictableNumber, want)
		}
	})
}
