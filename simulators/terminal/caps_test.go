package terminal

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

// withParams sets the terminal parameters of a lab at start.
func withParams(p Params) labOption { return func(c *Config) { c.Params = p } }

// sent lists the iso_out events of an MTI (and network code, for 0800s).
func (l *lab) sent(mti, code70 string) []Event {
	var out []Event
	for _, e := range l.eventsOf(EventISOOut) {
		if e.MTI == mti && (code70 == "" || e.Fields["70"] == code70) {
			out = append(out, e)
		}
	}
	return out
}

// TestPINReentry: on 55 the terminal asks for the PIN again, each entry a
// new 0200 with a new STAN and a PIN block, until the PIN tries of the
// sale are used up or the host answers something else (75 at the card's
// third wrong PIN).
func TestPINReentry(t *testing.T) {
	cases := []struct {
		name  string
		tries int
		pins  []string
		code  string // final response code
		sent  int    // 0200s
	}{
		{"wrong then right", 3, []string{"1111", "1234"}, "00", 2},
		{"three wrong end on 75", 3, []string{"1111", "2222", "3333"}, "75", 3},
		{"terminal limit of 2 ends on 55", 2, []string{"1111", "2222"}, "55", 2},
		{"no re-entry", 0, []string{"1111"}, "55", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				l, _, _ := acqLab(t, dir)
				if err := l.term.SetParams(Params{PINTries: tc.tries}); err != nil {
					t.Fatal(err)
				}
				l.ready()
				l.reader.Insert("visa-credit")
				l.pad.Type(tc.pins[0])
				ch := async(func() (*Txn, error) { return l.term.Sale(bg, SaleRequest{Amount: 1000}) })
				for _, pin := range tc.pins[1:] {
					synctest.Wait() // the terminal waits at the PIN prompt again
					l.pad.Type(pin)
				}
				r := <-ch
				if r.x == nil || r.x.ResponseCode != tc.code {
					t.Fatalf("sale: %+v, %v; want response code %s", r.x, r.err, tc.code)
				}
				if (tc.code == "00") != (r.err == nil) {
					t.Errorf("error %v for code %s", r.err, tc.code)
				}
				sales := l.sent(iso.MTIFinancialRequest, "")
				if len(sales) != tc.sent {
					t.Fatalf("%d 0200s sent; want %d", len(sales), tc.sent)
				}
				stans := map[string]bool{}
				for _, e := range sales {
					if e.Fields["52"] != "[PIN block]" || stans[e.Fields["11"]] {
						t.Errorf("0200 %v: want a PIN block and a STAN of its own", e.Fields)
					}
					stans[e.Fields["11"]] = true
				}
				if tc.sent > 1 && !strings.Contains(l.texts(EventDisplay), IncorrectPINText) {
					t.Errorf("display never asked again: %s", l.texts(EventDisplay))
				}
				if want := tc.sent; r.x.PINTry != want && want > 1 || want == 1 && r.x.PINTry != 0 {
					t.Errorf("PIN try %d; want %d", r.x.PINTry, want)
				}
				l.checkNoSecrets()
			})
		})
	}
}

// keyKCVs lists the KCVs of the keys the terminal loaded, in order.
func (l *lab) keyKCVs() []string {
	var out []string
	for _, e := range l.eventsOf(EventDevice) {
		if k, ok := strings.CutPrefix(e.Text, "PIN pad: session key loaded, KCV "); ok {
			out = append(out, k)
		}
	}
	return out
}

// TestKeyChangeOnHostRequest: the host flags its answers with field 53;
// the terminal changes its key (0800, 70=101) before the next sale, the
// PIN pad gets the key of field 62, and the host accepts PINs under it.
func TestKeyChangeOnHostRequest(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		l, h, _ := acqLab(t, dir)
		l.ready()
		if err := h.RequestKeyChange("NOPE"); err == nil || !strings.Contains(err.Error(), l.term.ID()) {
			t.Errorf("unknown terminal: %v; want the valid ones listed", err)
		}
		if err := h.RequestKeyChange(l.term.ID()); err != nil {
			t.Fatal(err)
		}
		l.sale(100)
		in := l.eventsOf(EventISOIn)
		if got := in[len(in)-1].Fields["53"]; got != acquirer.KeyChangeRequired {
			t.Fatalf("field 53 of the 0210: %q; want %q", got, acquirer.KeyChangeRequired)
		}
		if n := len(l.sent(iso.MTINetworkRequest, iso.NetKeyChange)); n != 0 {
			t.Fatalf("%d key changes before the next transaction", n)
		}
		l.reader.Remove()
		l.sale(200) // under the new key: the host approves it
		if n := len(l.sent(iso.MTINetworkRequest, iso.NetKeyChange)); n != 1 {
			t.Fatalf("%d key changes; want 1", n)
		}
		kcvs := l.keyKCVs()
		if len(kcvs) != 2 || kcvs[0] == kcvs[1] || l.pad.KeyLoaded() != kcvs[1] {
			t.Errorf("keys loaded %v, pad holds %s; want a new key in the pad", kcvs, l.pad.KeyLoaded())
		}
		if p := h.KeyChangesPending(); len(p) != 0 {
			t.Errorf("still pending at the host: %v", p)
		}
	})
}

// TestKeyChangeSchedule: by count and by age, before the transaction.
func TestKeyChangeSchedule(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		l, _, _ := acqLab(t, dir)
		l.ready()
		if err := l.term.SetParams(Params{KeyChangeEvery: 2}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{0, 0, 1, 1, 2} {
			l.sale(int64(100 + i))
			l.reader.Remove()
			if n := len(l.sent(iso.MTINetworkRequest, iso.NetKeyChange)); n != want {
				t.Fatalf("after sale %d: %d key changes; want %d", i+1, n, want)
			}
		}
		if err := l.term.SetParams(Params{KeyChangeInterval: time.Hour}); err != nil {
			t.Fatal(err)
		}
		l.sale(300)
		l.reader.Remove()
		time.Sleep(61 * time.Minute)
		l.sale(301)
		if n := len(l.sent(iso.MTINetworkRequest, iso.NetKeyChange)); n != 3 {
			t.Fatalf("%d key changes after an hour; want 3", n)
		}
		if err := l.term.SetParams(Params{KeyChangeEvery: -1}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("negative count: %v", err)
		}
	})
}

// TestIdleEcho: an idle link gets an echo every EchoIdle; an unanswered one
// marks the link down and the next sale dials again first.
func TestIdleEcho(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		l, h, _ := acqLab(t, dir)
		l.ready()
		before := len(l.sent(iso.MTINetworkRequest, iso.NetEcho)) // the power-on echo
		if err := l.term.SetParams(Params{EchoIdle: time.Minute}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3*time.Minute + time.Second)
		synctest.Wait()
		if n := len(l.sent(iso.MTINetworkRequest, iso.NetEcho)) - before; n != 3 {
			t.Fatalf("%d idle echoes in 3 minutes; want 3", n)
		}
		id, _ := h.Faults().Add(acquirer.Fault{Match: acquirer.Match{MTI: iso.MTINetworkRequest}, Action: acquirer.ActDrop, Sticky: true})
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if !strings.Contains(l.texts(EventAlert), "host link marked down") {
			t.Fatalf("no link-down alert: %s", l.texts(EventAlert))
		}
		n := len(l.sent(iso.MTINetworkRequest, iso.NetEcho))
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if m := len(l.sent(iso.MTINetworkRequest, iso.NetEcho)); m != n {
			t.Errorf("%d more echoes on a link marked down", m-n)
		}
		h.Faults().Remove(id)
		l.sale(100)
		var down, up bool
		for _, e := range l.eventsOf(EventDevice) {
			switch e.Text {
			case "host link down":
				down, up = true, false
			case "host link up":
				up = down
			}
		}
		if !up {
			t.Errorf("no new link after the link was marked down: %s", l.texts(EventDevice))
		}
	})
}
