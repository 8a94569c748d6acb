package trace

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

// msg builds a message of a hand-made trace.
func msg(at time.Duration, dir, mti string, fields map[int]string) *Message {
	m := &Message{Kind: KindISO, Time: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).Add(at), Conn: "c", Dir: dir, MTI: mti}
	d := iso.Possim87()
	for n, v := range fields {
		m.Fields = append(m.Fields, Field{Num: n, Name: fieldName(d, n), Value: v})
	}
	return m
}

func handTrace(msgs ...*Message) *Trace {
	t := &Trace{Format: FormatJSONL, Messages: msgs}
	finish(t)
	return t
}

func sale(stan, amount, pan string) map[int]string {
	return map[int]string{2: pan, 3: "000000", 4: amount, 7: "1130120000", 11: stan, 14: "3012", 22: "051",
		41: "TERM0001", 42: "123456789012345", 49: "156"}
}

func answer(req map[int]string, rc string, change map[int]string) map[int]string {
	out := map[int]string{39: rc}
	for _, n := range []int{3, 4, 7, 11, 22, 41, 42, 49} {
		out[n] = req[n]
	}
	for n, v := range change {
		out[n] = v
	}
	return out
}

// The generated feature plays each host behaviour as its fault step, and a
// card the profile lacks as the nearest test card of its brand.
func TestFeatureSteps(t *testing.T) {
	a, b, c := sale("000001", "000000001000", "476173******0010"), sale("000002", "000000002000", "476173******0010"), sale("000003", "000000003000", "411111******1111")
	d := sale("000004", "000000004000", "476173******0010")
	rev := sale("000005", "000000004000", "476173******0010")
	rev[39], rev[90] = "98", "020000000411301200000000000000000000000000"
	tr := handTrace(
		msg(0, DirIn, "0200", a), msg(3*time.Second, DirOut, "0210", answer(a, "00", nil)),
		msg(4*time.Second, DirIn, "0200", b), msg(4100*time.Millisecond, DirOut, "0210", answer(b, "00", map[int]string{4: "000000001500"})),
		msg(5*time.Second, DirIn, "0200", c), msg(5100*time.Millisecond, DirOut, "0210", answer(c, "05", nil)),
		msg(6*time.Second, DirIn, "0200", d),
		msg(8*time.Second, DirIn, "0400", rev), msg(8100*time.Millisecond, DirOut, "0410", answer(rev, "96", nil)),
	)
	var out bytes.Buffer
	if err := WriteFeature(&out, tr, "hand.jsonl", nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"Given the host answers the next sale after 3s",
		"Given the host approves the next sale for 15.00 instead",
		`Given the host answers the next sale with "05"`,
		`# card 411111******1111 is not in the profile: played with visa-credit, the nearest test card of the same brand`,
		`Then the transaction is declined with response code "05"`,
		"Given the host does not answer the next sale\n    Given the host answers the next reversal with \"96\"\n    When the customer pays 40.00",
		`And the host answered the last "0400" with "96"`,
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("feature lacks %q:\n%s", w, out.String())
		}
	}
}

// Playback: the n-th matching request gets the n-th recorded answer; a
// miss is answered --playback-miss; --match can leave the amount out.
func TestPlayback(t *testing.T) {
	a, b := sale("000001", "000000001000", "476173******0010"), sale("000002", "000000001000", "476173******0010")
	tr := handTrace(
		msg(0, DirIn, "0200", a), msg(10*time.Millisecond, DirOut, "0210", answer(a, "51", nil)),
		msg(time.Second, DirIn, "0200", b), msg(time.Second+10*time.Millisecond, DirOut, "0210", answer(b, "00", map[int]string{4: "000000000500"})),
	)
	for _, tc := range []struct {
		match, miss string
		amounts     []string // requests sent, in minor units
		want        []string // answers: code/amount
	}{
		{"", "", []string{"000000001000", "000000001000"}, []string{"51 000000001000", "00 000000000500"}},
		{"", "96", []string{"000000002000"}, []string{"96 000000002000"}},
		{"mti,proc,terminal", "", []string{"000000002000", "000000003000"}, []string{"51 000000002000", "00 000000000500"}},
	} {
		p, err := NewPlayer(tr, tc.match)
		if err != nil {
			t.Fatal(err)
		}
		h := startHost(t, "", func(c *acquirer.Config) { c.Playback, c.PlaybackMiss = p, tc.miss })
		var msgs []*Message
		for i, amt := range tc.amounts {
			f := sale("00000"+string(rune('5'+i)), amt, "476173******0010")
			msgs = append(msgs, msg(time.Duration(i)*time.Second, DirIn, "0200", f))
		}
		res, err := Replay(context.Background(), handTrace(msgs...), ReplayOptions{Addr: h.Addr(), AnswerTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range res.Exchanges {
			got := ""
			if e.got != nil {
				rc, _ := e.got.GetString(39)
				amt, _ := e.got.GetString(4)
				got = rc + " " + amt
			}
			if got != tc.want[i] {
				t.Errorf("match %q miss %q: request %d answered %q, want %q", tc.match, tc.miss, i+1, got, tc.want[i])
			}
		}
	}
}

// Pacing: requests recorded a second apart, replayed at speed 4, are sent
// no less than 250 ms apart (a lower bound only: a loaded machine is slower).
func TestReplayPaced(t *testing.T) {
	a, b := sale("000001", "000000001000", "476173******0010"), sale("000002", "000000001000", "476173******0010")
	tr := handTrace(msg(0, DirIn, "0200", a), msg(time.Second, DirIn, "0200", b))
	h := startHost(t, "", nil)
	start := time.Now()
	if _, err := Replay(context.Background(), tr, ReplayOptions{Addr: h.Addr(), Speed: 4, Silence: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("replay at speed 4 of requests 1s apart took %v, want at least 250ms", d)
	}
}

// Connections overlap as recorded: a request on a second connection is
// sent while the first waits for a late answer, not after it.
func TestReplayOverlappingConnections(t *testing.T) {
	a, b := sale("000001", "000000001000", "476173******0010"), sale("000002", "000000002000", "476173******0010")
	ma, mb := msg(0, DirIn, "0200", a), msg(200*time.Millisecond, DirIn, "0200", b)
	mb.Conn = "d"
	ra, rb := msg(2*time.Second, DirOut, "0210", answer(a, "00", nil)), msg(300*time.Millisecond, DirOut, "0210", answer(b, "00", nil))
	rb.Conn = "d"
	tr := handTrace(ma, mb, rb, ra)
	var mu sync.Mutex
	var order []string
	h := startHost(t, `faults:
  - {name: late, match: {mti: "0200", amount: "10.00"}, action: delay, delay: 2s}
`, func(c *acquirer.Config) {
		c.OnEvent = func(ev acquirer.Event) {
			mu.Lock()
			order = append(order, ev.Dir+" "+ev.Fields["4"])
			mu.Unlock()
		}
	})
	res, err := Replay(context.Background(), tr, ReplayOptions{Addr: h.Addr(), Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Conns != 2 {
		t.Errorf("replayed on %d connections, want 2", res.Conns)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"in 000000001000", "in 000000002000", "out 000000002000", "out 000000001000"}
	if !slices.Equal(order, want) {
		t.Errorf("host saw %v, want %v", order, want)
	}
}

// --fresh-keys: the reversal's field 90 names its sale by the STAN and
// time the sale was sent with now.
func TestFreshKeysFollowOriginal(t *testing.T) {
	now := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	rb := newRebuilder(iso.Spec87, profile.Default(), true, func() time.Time { return now })
	s := sale("000016", "000000007770", "476173******0010")
	s[7] = "1130210930"
	rev := sale("000017", "000000007770", "476173******0010")
	rev[90] = "020000001611302109300000000000000000000000"
	ms, mr := msg(0, DirIn, "0200", s), msg(time.Second, DirIn, "0400", rev)
	sent, _, err := rb.build(ms)
	if err != nil {
		t.Fatal(err)
	}
	sentRev, _, err := rb.build(mr)
	if err != nil {
		t.Fatal(err)
	}
	stan, _ := sent.GetString(11)
	f90, _ := sentRev.GetString(90)
	if want := "0200" + stan + "0102030405" + strings.Repeat("0", 22); f90 != want || stan == "000016" {
		t.Errorf("field 90 = %s, want %s (sale sent as STAN %s)", f90, want, stan)
	}
}
