package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/terminal"
)

func init() { domains = append(domains, terminalCapsSteps) }

// keyEchoFrom is the recorder length when the idle echo was switched on:
// the echoes counted are the ones sent after it (not the power-on echo).
const keyEchoFrom = "echoFrom"

// setParams changes one terminal parameter, keeping the others.
func (w *World) setParams(change func(*terminal.Params)) error {
	p := w.Lab.Terminal.Params()
	change(&p)
	return w.Lab.Terminal.SetParams(p)
}

// networkOut lists the 0800s the terminal sent with network code code70,
// from recorder event seq on.
func (w *World) networkOut(code70 string, from int) []harness.Event {
	var out []harness.Event
	for _, e := range w.events("iso_out") {
		if e.Seq >= from && e.MTI == iso.MTINetworkRequest && e.Fields["70"] == code70 {
			out = append(out, e)
		}
	}
	return out
}

// kcvOf reads the check value of a masked field 62 ("[key block] KCV X").
func kcvOf(f62 string) string {
	_, kcv, _ := strings.Cut(f62, "KCV ")
	return kcv
}

// quoted lists the quoted words of `"a", "b" then "c"`.
func quoted(list string) []string {
	var out []string
	for i, f := range strings.Split(list, `"`) {
		if i%2 == 1 {
			out = append(out, f)
		}
	}
	return out
}

// typePINs types the first PIN ahead for the next prompt and each next one
// when the terminal asks again after 55.
func (w *World) typePINs(ctx context.Context, pins []string) error {
	if err := w.act(ctx, "pinpad", "type", pins[0]); err != nil {
		return err
	}
	rctx := context.WithoutCancel(ctx)
	for i, pin := range pins[1:] {
		w.react(fmt.Sprintf("customer enters PIN %d of %d when asked again", i+2, len(pins)), incorrectPIN,
			func() error { return w.act(rctx, "pinpad", "type", pin) })
	}
	return nil
}

// incorrectPIN matches the terminal asking for the PIN again.
func incorrectPIN(e harness.Event) bool {
	return e.Source == "terminal" && e.Kind == "display" && e.Text == terminal.IncorrectPINText
}

func terminalCapsSteps() []Step {
	return []Step{
		// PIN re-entry after 55.
		{Domain: "terminal", Pattern: `^the terminal allows (\d+) PIN tries per sale$`, Example: "Given the terminal allows 3 PIN tries per sale",
			Help: "On an incorrect PIN (55) the terminal asks for the PIN again, up to this many entries in one sale, each a new 0200 with a new STAN. 1: no re-entry (the default).",
			Fn: func(ctx context.Context, n int) error {
				return world(ctx).setParams(func(p *terminal.Params) { p.PINTries = n })
			}},
		{Domain: "devices", Pattern: `^the customer enters PINs? ((?:"\d+"(?:, | then )?)+) one per prompt$`,
			Example: `And the customer enters PINs "1111" then "1234" one per prompt`,
			Help:    `The first PIN is typed ahead for the next prompt; each next one when the terminal shows "` + terminal.IncorrectPINText + `".`,
			Fn: func(ctx context.Context, list string) error {
				w := world(ctx)
				pins := quoted(list)
				if len(pins) == 0 {
					return errors.New(`no PIN given; write "1111" then "1234"`)
				}
				return w.typePINs(ctx, pins)
			}},
		{Domain: "devices", Pattern: `^the customer enters a wrong PIN (once|twice|three times)(, then the right PIN)? of card "([^"]*)"$`,
			Example: `And the customer enters a wrong PIN once, then the right PIN of card "visa-credit"`,
			Help:    `As "one per prompt", with PINs made from the card's PIN in the profile: wrong ones (not its PIN), then, if said, its PIN.`,
			Fn: func(ctx context.Context, times, right, alias string) error {
				w := world(ctx)
				c, err := w.card(alias)
				if err != nil {
					return err
				}
				if c.PIN == "" {
					return fmt.Errorf("card %q has no PIN in the profile (it signs)", alias)
				}
				wrong := strings.Repeat("0", len(c.PIN))
				if wrong == c.PIN {
					wrong = strings.Repeat("1", len(c.PIN))
				}
				pins := make([]string, map[string]int{"once": 1, "twice": 2, "three times": 3}[times])
				for i := range pins {
					pins[i] = wrong
				}
				if right != "" {
					pins = append(pins, c.PIN)
				}
				return w.typePINs(ctx, pins)
			}},
		{Domain: "devices", Pattern: `^the customer presses cancel when asked for the PIN again$`, Example: "And the customer presses cancel when asked for the PIN again",
			Help: `Cancels the prompt that follows "` + terminal.IncorrectPINText + `".`,
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				rctx := context.WithoutCancel(ctx)
				w.react("customer cancels when asked for the PIN again", incorrectPIN, func() error { return w.act(rctx, "pinpad", "cancel", "") })
				return nil
			}},
		{Domain: "terminal", Pattern: `^the sale took (\d+) PIN entries, each sent in a new "0200" with a new STAN$`,
			Example: "Then the sale took 2 PIN entries, each sent in a new \"0200\" with a new STAN",
			Help:    "Counts the 0200s with a PIN block (field 52) the terminal sent in this scenario and checks their STANs differ.",
			Fn: func(ctx context.Context, n int) error {
				w := world(ctx)
				var stans []string
				seen := map[string]bool{}
				for _, e := range w.events("iso_out") {
					if e.MTI != iso.MTIFinancialRequest || e.Fields["52"] == "" {
						continue
					}
					if seen[e.Fields["11"]] {
						return fmt.Errorf("STAN %s was sent twice in a 0200 with a PIN; all: %v", e.Fields["11"], append(stans, e.Fields["11"]))
					}
					seen[e.Fields["11"]] = true
					stans = append(stans, e.Fields["11"])
				}
				if len(stans) != n {
					return fmt.Errorf("the terminal sent %d 0200s with a PIN (STANs %v); want %d", len(stans), stans, n)
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the host answered the sale's PIN entries with ((?:"\d\d"(?:, | then )?)+)$`,
			Example: `Then the host answered the sale's PIN entries with "55" then "00"`,
			Help:    "The response codes of the 0210s to the 0200s with a PIN of this scenario, in order.",
			Fn: func(ctx context.Context, list string) error {
				w := world(ctx)
				want := quoted(list)
				withPIN := map[string]bool{}
				for _, e := range w.events("iso_out") {
					if e.MTI == iso.MTIFinancialRequest && e.Fields["52"] != "" {
						withPIN[e.Fields["11"]] = true
					}
				}
				var got []string
				for _, e := range w.events("iso_in") {
					if e.MTI == iso.ResponseMTI(iso.MTIFinancialRequest) && withPIN[e.Fields["11"]] {
						got = append(got, e.Fields["39"])
					}
				}
				return diff("answers to the sale's PIN entries", want, got)
			}},

		// PIN key change.
		{Domain: "host", Pattern: `^the host asks the terminal for a key change$`, Example: "Given the host asks the terminal for a key change",
			Help: `Every answer to the terminal carries field 53 "` + acquirer.KeyChangeRequired + `" until it sends a key change (0800, 70=101) or signs on.`,
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				return w.Lab.Host.RequestKeyChange(w.Lab.Terminal.ID())
			}},
		{Domain: "terminal", Pattern: `^the terminal changes its PIN key every (\d+) transactions?$`, Example: "Given the terminal changes its PIN key every 2 transactions",
			Help: "After that many financial requests on one key, a key change (0800, 70=101) goes before the next transaction.",
			Fn: func(ctx context.Context, n int) error {
				return world(ctx).setParams(func(p *terminal.Params) { p.KeyChangeEvery = n })
			}},
		{Domain: "terminal", Pattern: `^the terminal changes its PIN key every (\d+ ?(?:s|m|h))$`, Example: "Given the terminal changes its PIN key every 24h",
			Help: "A key older than that is changed before the next transaction.",
			Fn: func(ctx context.Context, d string) error {
				dd, err := parseDuration(d)
				if err != nil {
					return err
				}
				w := world(ctx)
				return w.setParams(func(p *terminal.Params) { p.KeyChangeInterval = w.D(dd) })
			}},
		{Domain: "terminal", Pattern: `^the terminal sent (\d+) key changes?$`, Example: "Then the terminal sent 1 key change",
			Help: "0800s with field 70 = 101 sent in this scenario.",
			Fn: func(ctx context.Context, n int) error {
				return diff("key changes (0800, 70=101) sent", n, len(world(ctx).networkOut(iso.NetKeyChange, 0)))
			}},
		{Domain: "terminal", Pattern: `^the PIN pad holds the key of the last key change$`, Example: "Then the PIN pad holds the key of the last key change",
			Help: "The last 0810 to a key change was 00 with a key in field 62, the terminal loaded that key (same KCV) and it differs from the key before.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				var ans *harness.Event
				for _, e := range w.events("iso_in") {
					if e.MTI == iso.ResponseMTI(iso.MTINetworkRequest) && e.Fields["70"] == iso.NetKeyChange {
						ans = &e
					}
				}
				if ans == nil {
					return errors.New("the terminal received no answer to a key change")
				}
				kcv := kcvOf(ans.Fields["62"])
				if ans.Fields["39"] != iso.RCApproved || kcv == "" {
					return fmt.Errorf("the key change was answered %q with field 62 %q; want 00 and a key", ans.Fields["39"], ans.Fields["62"])
				}
				var loaded []string
				for _, e := range w.events("device") {
					if k, ok := strings.CutPrefix(e.Text, "PIN pad: session key loaded, KCV "); ok {
						loaded = append(loaded, k)
					}
				}
				if len(loaded) < 2 {
					return fmt.Errorf("the terminal loaded %d PIN keys (KCVs %v); want the sign-on's and the key change's", len(loaded), loaded)
				}
				if last := loaded[len(loaded)-1]; last != kcv {
					return fmt.Errorf("the PIN pad's last key has KCV %s; the key change handed out %s", last, kcv)
				}
				if prev := loaded[len(loaded)-2]; prev == kcv {
					return fmt.Errorf("the key change handed out the same key (KCV %s) as before", kcv)
				}
				return nil
			}},
		{Domain: "host", Pattern: `^the host has no key change pending$`, Example: "Then the host has no key change pending",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				return diff("terminals asked for a key change", []string{}, w.Lab.Host.KeyChangesPending())
			}},

		// Idle echo.
		{Domain: "terminal", Pattern: `^the terminal sends an echo test after (` + durationRe + `) idle$`, Example: "Given the terminal sends an echo test after 60s idle",
			Help: "A link idle that long gets an 0800 with field 70 = 301; an echo not answered in the response timeout marks the link down.",
			Fn: func(ctx context.Context, d string) error {
				w := world(ctx)
				dd, err := parseDuration(d)
				if err != nil {
					return err
				}
				from := 0
				if evs := w.Lab.Recorder.Events(); len(evs) > 0 {
					from = evs[len(evs)-1].Seq + 1
				}
				w.Set(keyEchoFrom, from)
				return w.setParams(func(p *terminal.Params) { p.EchoIdle = w.D(dd) })
			}},
		{Domain: "terminal", Pattern: `^(` + durationRe + `) pass with the terminal idle$`, Example: "When 5m pass with the terminal idle",
			Help: "Nobody touches the terminal for that long (virtual time in the suite).",
			Fn: func(ctx context.Context, d string) error {
				w := world(ctx)
				dd, err := parseDuration(d)
				if err != nil {
					return err
				}
				time.Sleep(w.D(dd))
				settle()
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal sent (\d+) idle echo tests?(?:, answered "(\d\d)")?$`, Example: `Then the terminal sent 2 idle echo tests, answered "00"`,
			Help: "0800s with field 70 = 301 since the idle echo was switched on; with a code, each was answered with it.",
			Fn: func(ctx context.Context, n int, code string) error {
				w := world(ctx)
				from, _ := w.Get(keyEchoFrom).(int)
				echoes := w.networkOut(iso.NetEcho, from)
				if err := diff("idle echo tests sent", n, len(echoes)); err != nil || code == "" {
					return err
				}
				answered := map[string]string{}
				for _, e := range w.events("iso_in") {
					if e.MTI == iso.ResponseMTI(iso.MTINetworkRequest) && e.Fields["70"] == iso.NetEcho {
						answered[e.Fields["11"]] = e.Fields["39"]
					}
				}
				for _, e := range echoes {
					if got, ok := answered[e.Fields["11"]]; !ok || got != code {
						return fmt.Errorf("echo STAN %s answered %q (answered: %v); want %s", e.Fields["11"], got, ok, code)
					}
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal marked the host link down$`, Example: "Then the terminal marked the host link down",
			Help: "An idle echo went unanswered and the terminal hung up.",
			Fn: func(ctx context.Context) error {
				for _, e := range world(ctx).events("alert") {
					if strings.Contains(e.Text, "host link marked down") {
						return nil
					}
				}
				return errors.New("the terminal raised no link-down alert after an idle echo")
			}},
		{Domain: "terminal", Pattern: `^the terminal dialled the host again before the next "(\d{4})"$`, Example: `Then the terminal dialled the host again before the next "0200"`,
			Help: "After the link was marked down, a new link came up before the next request of that MTI went out.",
			Fn: func(ctx context.Context, mti string) error {
				w := world(ctx)
				down, up := -1, -1
				for _, e := range w.Lab.Recorder.Filter("terminal", "") {
					switch {
					case e.Kind == "device" && e.Text == "host link down":
						down, up = e.Seq, -1
					case e.Kind == "device" && e.Text == "host link up" && down >= 0 && up < 0:
						up = e.Seq
					case e.Kind == "iso_out" && e.MTI == mti && down >= 0:
						if up < 0 {
							return fmt.Errorf("a %s went out after the link was marked down without a new link first", mti)
						}
						return nil
					}
				}
				if down < 0 {
					return errors.New("the terminal never marked the link down")
				}
				return fmt.Errorf("no %s went out after the link was marked down", mti)
			}},
	}
}
