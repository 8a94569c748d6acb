package scenarios

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/card"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/terminal"
)

func init() { domains = append(domains, hostSteps, linkSteps, rawSteps) }

// Keys of World values the host steps keep.
const keySilence = "silence" // []int: fault IDs of "the host stops answering"

// durationRe matches the durations the steps take: 5s, 5 s, 500ms, 1.5s, 2m.
const durationRe = `\d+(?:\.\d+)? ?(?:ms|s|m)`

// parseDuration reads 5s, 5 s, 500ms, 2m, naming the argument on error.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.ReplaceAll(s, " ", ""))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q: write it like 5s, 500ms or 2m", s)
	}
	return d, nil
}

// rate scales a bandwidth for real-time runs the way D scales a duration:
// at --time-scale 0.02 a 1 KB/s link carries 50 KB/s, so a message takes
// the same share of the (scaled) response timeout.
func (w *World) rate(kbps int) int {
	if w.Scale <= 0 || w.Scale == 1 {
		return kbps
	}
	return int(math.Ceil(float64(kbps) / w.Scale))
}

// needHost fails a step that programs the lab's own host when the run
// uses a real one (possim run --host).
func (w *World) needHost() error {
	if w.Lab.Host == nil {
		return errors.New("this step programs the lab's mock host; this run uses an external host (--host)")
	}
	return nil
}

// targets are the requests a host fault step can name, as a fault match.
var targets = map[string]acquirer.Match{
	"sale":              {MTI: iso.MTIFinancialRequest, ProcCode: iso.ProcPurchase},
	"void":              {MTI: iso.MTIFinancialRequest, ProcCode: iso.ProcVoid},
	"refund":            {MTI: iso.MTIFinancialRequest, ProcCode: iso.ProcRefund},
	"pre-authorisation": {MTI: iso.MTIAuthRequest},
	"completion":        {MTI: iso.MTIAdvice},
	"reversal":          {MTI: iso.MTIReversal},
	"sign-on":           {MTI: iso.MTINetworkRequest},
	"request":           {},
}

const targetRe = `(sale|void|refund|pre-authorisation|completion|reversal|sign-on|request|message "\d{4}")`

// target reads the request a step names: "sale", "message "0400""...
func target(s string) (acquirer.Match, error) {
	if mti, ok := strings.CutPrefix(s, "message "); ok {
		return acquirer.Match{MTI: strings.Trim(mti, `"`)}, nil
	}
	m, ok := targets[s]
	if !ok {
		var names []string
		for k := range targets {
			names = append(names, k)
		}
		return m, oneOf("request", s, append(names, `message "MTI"`))
	}
	return m, nil
}

// fault installs a host fault on the next request of a target (or every
// one, sticky).
func (w *World) fault(name, what string, f acquirer.Fault) (int, error) {
	if err := w.needHost(); err != nil {
		return 0, err
	}
	m, err := target(what)
	if err != nil {
		return 0, err
	}
	f.Name, f.Match = name, m
	id, err := w.Lab.Host.Faults().Add(f)
	if err != nil {
		return 0, fmt.Errorf("host fault: %w", err)
	}
	return id, nil
}

// hostIn returns the requests the host received of an MTI ("" any).
func (w *World) hostIn(mti string) []harness.Event {
	var out []harness.Event
	for _, e := range w.Lab.Recorder.Filter("host", "iso_in") {
		if mti == "" || e.MTI == mti {
			out = append(out, e)
		}
	}
	return out
}

// reversalsOf lists the reversals (0400, 0401) the terminal sent for the
// transaction with STAN orig, in order.
func (w *World) reversalsOf(orig string) []string {
	var out []string
	for _, e := range w.events("iso_out") {
		if e.MTI != iso.MTIReversal && e.MTI != iso.MTIReversalRepeat {
			continue
		}
		if _, stan, _, err := iso.ParseOriginalData(e.Fields["90"]); err == nil && stan == orig {
			out = append(out, e.MTI)
		}
	}
	return out
}

// lastReversed is the last transaction of the terminal's log that it
// reversed (the last operation may have been refused since, for the very
// reversal it still owes).
func (w *World) lastReversed() (*terminal.Txn, error) {
	log := w.Lab.Terminal.Log()
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Status == terminal.StatusReversed {
			return &log[i], nil
		}
	}
	return nil, errors.New("the terminal's log holds no reversed transaction")
}

func hostSteps() []Step {
	return []Step{
		{Domain: "host", Pattern: `^the host answers the next ` + targetRe + ` with (?:response code )?"(\d\d)"$`,
			Example: `Given the host answers the next sale with "96"`,
			Help:    `Forces the response code of the next request of that kind (sale, void, refund, pre-authorisation, completion, reversal, sign-on, request, or message "0200"), journaled as such.`,
			Fn: func(ctx context.Context, what, code string) error {
				_, err := world(ctx).fault("respond "+code, what, acquirer.Fault{Action: acquirer.ActRespond, Code: code})
				return err
			}},
		{Domain: "host", Pattern: `^the host does not answer the next ` + targetRe + `$`,
			Example: "Given the host does not answer the next sale",
			Help:    "The host journals the request and never answers it: the terminal times out and reverses.",
			Fn: func(ctx context.Context, what string) error {
				_, err := world(ctx).fault("drop", what, acquirer.Fault{Action: acquirer.ActDrop})
				return err
			}},
		{Domain: "host", Pattern: `^the host stops answering$`, Example: "Given the host stops answering",
			Help: "Every request is journaled and never answered, until the host answers again.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				id, err := w.fault("stops answering", "request", acquirer.Fault{Action: acquirer.ActDrop, Sticky: true})
				if err != nil {
					return err
				}
				ids, _ := w.Get(keySilence).([]int)
				w.Set(keySilence, append(ids, id))
				return nil
			}},
		{Domain: "host", Pattern: `^the host answers again$`, Example: "When the host answers again",
			Help: "Ends \"the host stops answering\".",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				ids, _ := w.Get(keySilence).([]int)
				if len(ids) == 0 {
					return errors.New(`the host was not told to stop answering ("the host stops answering")`)
				}
				for _, id := range ids {
					w.Lab.Host.Faults().Remove(id)
				}
				w.Set(keySilence, nil)
				return nil
			}},
		{Domain: "host", Pattern: `^the host answers the next ` + targetRe + ` after (` + durationRe + `)$`,
			Example: "Given the host answers the next sale after 5s",
			Fn: func(ctx context.Context, what, d string) error {
				w := world(ctx)
				dur, err := parseDuration(d)
				if err != nil {
					return err
				}
				_, err = w.fault("delay "+d, what, acquirer.Fault{Action: acquirer.ActDelay, Delay: w.D(dur)})
				return err
			}},
		{Domain: "host", Pattern: `^the host answers every request after a delay of (` + durationRe + `)$`,
			Example: "Given the host answers every request after a delay of 2s",
			Fn: func(ctx context.Context, d string) error {
				w := world(ctx)
				dur, err := parseDuration(d)
				if err != nil {
					return err
				}
				_, err = w.fault("slow host", "request", acquirer.Fault{Action: acquirer.ActDelay, Delay: w.D(dur), Sticky: true})
				return err
			}},
		{Domain: "host", Pattern: `^the host (closes|resets) the connection on the next ` + targetRe + `$`,
			Example: "Given the host closes the connection on the next sale",
			Help:    "The request is journaled; instead of the answer the connection is closed (or reset).",
			Fn: func(ctx context.Context, how, what string) error {
				act := map[string]string{"closes": acquirer.ActClose, "resets": acquirer.ActReset}[how]
				_, err := world(ctx).fault(act, what, acquirer.Fault{Action: act})
				return err
			}},
		{Domain: "host", Pattern: `^the host approves the next sale for (\S+) instead$`, Example: "Given the host approves the next sale for 90.00 instead",
			Help: "Answers 00 with a different field 4: the terminal must see the mismatch.",
			Fn: func(ctx context.Context, amount string) error {
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				_, err = world(ctx).fault("amount "+amount, "sale", acquirer.Fault{Action: acquirer.ActAmount, Amount: a})
				return err
			}},
		{Domain: "host", Pattern: `^the host approves only (\S+) of the next sale$`, Example: "Given the host approves only 60.00 of the next sale",
			Help: "A partial approval: 39 = 10, field 54 = the approved amount.",
			Fn: func(ctx context.Context, amount string) error {
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				_, err = world(ctx).fault("partial "+amount, "sale", acquirer.Fault{Action: acquirer.ActPartial, Amount: a})
				return err
			}},
		{Domain: "host", Pattern: `^the host answers the next ` + targetRe + ` twice$`, Example: "Given the host answers the next sale twice",
			Fn: func(ctx context.Context, what string) error {
				_, err := world(ctx).fault("duplicate", what, acquirer.Fault{Action: acquirer.ActDuplicate})
				return err
			}},
		{Domain: "host", Pattern: `^the host answers the next ` + targetRe + ` with a wrong STAN$`, Example: "Given the host answers the next sale with a wrong STAN",
			Help: "Field 11 of the answer is one higher: the terminal cannot match it to its request.",
			Fn: func(ctx context.Context, what string) error {
				_, err := world(ctx).fault("wrong STAN", what, acquirer.Fault{Action: acquirer.ActWrongSTAN})
				return err
			}},
		{Domain: "host", Pattern: `^the host answers the next ` + targetRe + ` with garbage$`, Example: "Given the host answers the next sale with garbage",
			Help: "The answer's bitmap is not hex: the terminal cannot unpack it.",
			Fn: func(ctx context.Context, what string) error {
				_, err := world(ctx).fault("garble", what, acquirer.Fault{Action: acquirer.ActGarble})
				return err
			}},
		{Domain: "host", Pattern: `^the host goes into maintenance$`, Example: "Given the host goes into maintenance",
			Help: "Every request is answered 91 (issuer or host unavailable), nothing is journaled.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				w.Lab.Host.SetMaintenance(acquirer.MaintenanceRespond)
				return nil
			}},
		{Domain: "host", Pattern: `^the host refuses connections$`, Example: "Given the host refuses connections",
			Help: "Maintenance by refusal: open connections are reset and new ones refused.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				w.Lab.Host.SetMaintenance(acquirer.MaintenanceRefuse)
				settle()
				return nil
			}},
		{Domain: "host", Pattern: `^the host comes back$`, Example: "When the host comes back",
			Help: "Ends maintenance (91 or refusal).",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				w.Lab.Host.SetMaintenance(acquirer.MaintenanceOff)
				return nil
			}},
		{Domain: "host", Pattern: `^card "([^"]*)" is reported (lost|stolen|restricted|blocked|active) at the issuer$`,
			Example: `Given card "visa-credit" is reported stolen at the issuer`,
			Help:    "Changes the card's status in the issuer's book: lost 41, stolen 43, restricted 57, blocked 05, active again.",
			Fn: func(ctx context.Context, alias, status string) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				if _, err := w.card(alias); err != nil {
					return err
				}
				return w.Lab.Host.SetCardStatus(alias, status)
			}},
		{Domain: "host", Pattern: `^the issuer resets the PIN tries of card "([^"]*)"$`, Example: `When the issuer resets the PIN tries of card "visa-credit"`,
			Fn: func(ctx context.Context, alias string) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				if _, err := w.card(alias); err != nil {
					return err
				}
				return w.Lab.Host.ResetPINTries(alias)
			}},
		{Domain: "host", Pattern: `^the host requires terminal software "([^"]*)" or newer$`, Example: `Given the host requires terminal software "3.0.0" or newer`,
			Help: "Raises the profile's host.min_terminal_software; the host reads it at every sign-on (field 60 below it: 12).",
			Fn: func(ctx context.Context, v string) error {
				w := world(ctx)
				if err := w.needHost(); err != nil {
					return err
				}
				w.Profile.Host.MinTerminalSoftware = v
				return nil
			}},

		// What went over the wire.
		{Domain: "host", Pattern: `^the host received a 0400 reversal for the last (?:sale|transaction)$`,
			Example: "Then the host received a 0400 reversal for the last sale",
			Help:    "A 0400 whose field 90 names the last transaction's STAN reached the host.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				t, err := w.lastTxn()
				if err != nil {
					return err
				}
				var seen []string
				for _, e := range w.hostIn(iso.MTIReversal) {
					_, stan, _, err := iso.ParseOriginalData(e.Fields["90"])
					if err == nil && stan == t.STAN {
						return nil
					}
					seen = append(seen, e.Fields["90"])
				}
				return fmt.Errorf("the host received no 0400 for STAN %s; 0400s it received name (field 90): %q", t.STAN, seen)
			}},
		{Domain: "host", Pattern: `^the host received (\d+) messages? of MTI "?(\d{4})"?$`, Example: "Then the host received 1 message of MTI 0400",
			Help: "Counts every request of that MTI the host read, from any terminal.",
			Fn: func(ctx context.Context, n int, mti string) error {
				return diff("messages of MTI "+mti+" at the host", n, len(world(ctx).hostIn(mti)))
			}},
		{Domain: "host", Pattern: `^the reversal was sent (\d+) times?$`, Example: "Then the reversal was sent 3 times",
			Help: "Reversals the terminal sent for the last transaction it reversed: a 0400 first, then 0401 repeats.",
			Fn: func(ctx context.Context, n int) error {
				w := world(ctx)
				t, err := w.lastReversed()
				if err != nil {
					return err
				}
				want := []string{}
				for i := range n {
					want = append(want, map[bool]string{true: iso.MTIReversal, false: iso.MTIReversalRepeat}[i == 0])
				}
				got := append([]string{}, w.reversalsOf(t.STAN)...)
				return diff("reversals sent for STAN "+t.STAN, want, got)
			}},
		{Domain: "host", Pattern: `^field (\d+) of the last (request|answer) was "([^"]*)"$`, Example: `Then field 22 of the last request was "801"`,
			Help: "The terminal's last message out (request) or in (answer), fields masked as in the timeline.",
			Fn: func(ctx context.Context, f int, which, want string) error {
				w := world(ctx)
				kind := map[string]string{"request": "iso_out", "answer": "iso_in"}[which]
				evs := w.events(kind)
				if len(evs) == 0 {
					return fmt.Errorf("the terminal has no %s yet", which)
				}
				e := evs[len(evs)-1]
				return diff(fmt.Sprintf("field %d of the last %s (%s)", f, which, e.MTI), want, e.Fields[strconv.Itoa(f)])
			}},
		{Domain: "host", Pattern: `^field (\d+) of the last "(\d{4})" (?:request|answer) was "([^"]*)"$`, Example: `Then field 39 of the last "0400" request was "98"`,
			Help: "The terminal's last message of that MTI, in or out.",
			Fn: func(ctx context.Context, f int, mti, want string) error {
				w := world(ctx)
				var last *harness.Event
				for _, e := range w.Lab.Recorder.Ladder() {
					if e.MTI == mti {
						last = &e
					}
				}
				if last == nil {
					return fmt.Errorf("the terminal sent or received no %s", mti)
				}
				return diff(fmt.Sprintf("field %d of the last %s", f, mti), want, last.Fields[strconv.Itoa(f)])
			}},
		{Domain: "host", Pattern: `^the host answered the last "(\d{4})" with "(\d\d)"$`, Example: `Then the host answered the last "0401" with "25"`,
			Help: "The response code the host sent to the last request of that MTI it answered.",
			Fn: func(ctx context.Context, mti, code string) error {
				w := world(ctx)
				resp := iso.ResponseMTI(mti)
				var got []string
				for _, e := range w.Lab.Recorder.Filter("host", "iso_out") {
					if e.MTI == resp && !strings.Contains(e.Text, "not sent") {
						got = append(got, e.Code)
					}
				}
				if len(got) == 0 {
					return fmt.Errorf("the host answered no %s", mti)
				}
				return diff("the host's answer to the last "+mti, code, got[len(got)-1])
			}},
	}
}

// linkSteps are the network faults between terminal and host, with
// Toxiproxy's names.
func linkSteps() []Step {
	add := func(ctx context.Context, t harness.Toxic) error {
		w := world(ctx)
		if err := w.Lab.Link.Add(t); err != nil {
			return err
		}
		settle()
		return nil
	}
	dur := func(w *World, s string) (time.Duration, error) {
		d, err := parseDuration(s)
		return w.D(d), err
	}
	// toxicAfter is a step that puts the named toxic in force, acting after
	// the step's optional duration argument.
	toxicAfter := func(name string) func(context.Context, string) error {
		return func(ctx context.Context, d string) error {
			t := harness.Toxic{Name: name}
			if d != "" {
				var err error
				if t.Delay, err = dur(world(ctx), d); err != nil {
					return err
				}
			}
			return add(ctx, t)
		}
	}
	return []Step{
		{Domain: "link", Pattern: `^the network suffers "([a-z_]+)"(?: of ([^"]+?))?(?: (upstream|downstream))?$`,
			Example: `Given the network suffers "latency" of 5s`,
			Help: "Any Toxiproxy link fault: latency, timeout, reset_peer, slow_close (of a duration), bandwidth (of N KB/s), " +
				"slicer (of N bytes), limit_data (of N bytes), down; both ways unless upstream (terminal to host) or downstream.",
			Fn: func(ctx context.Context, name, arg, stream string) error {
				w := world(ctx)
				t := harness.Toxic{Name: name, Stream: stream}
				var err error
				switch name {
				case "latency", "timeout", "reset_peer", "slow_close":
					if arg != "" {
						t.Delay, err = dur(w, arg)
					}
				case "bandwidth":
					n, e := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(arg, "KB/s")))
					t.Rate = w.rate(n)
					if e != nil {
						err = fmt.Errorf("bad bandwidth %q: write it like 1 KB/s", arg)
					}
				case "slicer", "limit_data":
					n, e := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(arg, "bytes")))
					t.Size = n
					if e != nil {
						err = fmt.Errorf("bad size %q: write it like 100 bytes", arg)
					}
					if name == "slicer" {
						t.Delay = w.D(time.Millisecond)
					}
				case "down":
				default:
					return oneOf("link fault", name, harness.ToxicNames)
				}
				if err != nil {
					return err
				}
				return add(ctx, t)
			}},
		{Domain: "link", Pattern: `^the network adds (` + durationRe + `) of latency(?: with (` + durationRe + `) of jitter)?$`,
			Example: "Given the network adds 5s of latency with 1s of jitter",
			Help:    "Each way: a request and its answer are each delayed.",
			Fn: func(ctx context.Context, d, j string) error {
				w := world(ctx)
				t := harness.Toxic{Name: "latency"}
				var err error
				if t.Delay, err = dur(w, d); err != nil {
					return err
				}
				if j != "" {
					if t.Jitter, err = dur(w, j); err != nil {
						return err
					}
				}
				return add(ctx, t)
			}},
		{Domain: "link", Pattern: `^the network is down$`, Example: "Given the network is down",
			Help: "Open connections drop and new ones are refused.",
			Fn:   func(ctx context.Context) error { return add(ctx, harness.Toxic{Name: "down"}) }},
		{Domain: "link", Pattern: `^the network comes back$`, Example: "When the network comes back",
			Help: "Lifts every link fault.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				for _, t := range w.Lab.Link.Toxics() {
					w.Lab.Link.Remove(t.Name)
				}
				return nil
			}},
		{Domain: "link", Pattern: `^the link is limited to (\d+) (bytes|KB/s)$`, Example: "Given the link is limited to 100 bytes",
			Help: "N bytes: each connection closes after carrying that much (limit_data); N KB/s: bandwidth.",
			Fn: func(ctx context.Context, n int, unit string) error {
				if unit == "bytes" {
					return add(ctx, harness.Toxic{Name: "limit_data", Size: n})
				}
				return add(ctx, harness.Toxic{Name: "bandwidth", Rate: world(ctx).rate(n)})
			}},
		{Domain: "link", Pattern: `^the network slices data into (\d+)-byte pieces$`, Example: "Given the network slices data into 8-byte pieces",
			Help: "Slicer: every write arrives in small pieces, 1 ms apart.",
			Fn: func(ctx context.Context, n int) error {
				return add(ctx, harness.Toxic{Name: "slicer", Size: n, Delay: world(ctx).D(time.Millisecond)})
			}},
		{Domain: "link", Pattern: `^the network stops carrying data(?: and closes the connection after (` + durationRe + `))?$`,
			Example: "Given the network stops carrying data",
			Help:    "Timeout: data is swallowed; the connection stays open, or closes after the given time.",
			Fn:      toxicAfter("timeout")},
		{Domain: "link", Pattern: `^the network resets connections(?: after (` + durationRe + `))?$`, Example: "Given the network resets connections",
			Help: "reset_peer: a connection is reset when data arrives (after the given time).",
			Fn:   toxicAfter("reset_peer")},
		{Domain: "link", Pattern: `^the network closes connections slowly, after (` + durationRe + `)$`, Example: "Given the network closes connections slowly, after 10s",
			Help: "slow_close: a closed connection is seen closed on the other side only after the delay.",
			Fn: func(ctx context.Context, d string) error {
				w := world(ctx)
				delay, err := dur(w, d)
				if err != nil {
					return err
				}
				return add(ctx, harness.Toxic{Name: "slow_close", Delay: delay})
			}},
	}
}

// Keys of the test terminal's World values.
const (
	keyTestTerms = "testTerminals" // map[string]*testTerminal by TID
	keyTestTerm  = "testTerminal"  // *testTerminal: the one used last
)

// testTerminal is a bare ISO 8583 client of the lab's host, for what the
// virtual terminal never sends: an unknown terminal or merchant, a
// malformed frame, a duplicate, a reversal of nothing, a forged
// cryptogram. It is how a certification plan checks a host's answers.
// Every request goes over a connection of its own (a net.Pipe the host
// serves), closed once answered, so nothing outlives the step.
type testTerminal struct {
	tid, mid string
	stan     int
	key      []byte         // session PIN key, after a sign-on
	last     *iso.Financial // the last financial request, to send again
	codes    []string       // response codes, in order
}

// testTerminal returns the test terminal with tid ("" the last one used,
// else TERM0001 of the profile), bound to mid ("" the profile terminal's
// merchant, else the profile's first).
func (w *World) testTerminal(tid, mid string) (*testTerminal, error) {
	if err := w.needHost(); err != nil {
		return nil, err
	}
	all, _ := w.Get(keyTestTerms).(map[string]*testTerminal)
	if all == nil {
		all = map[string]*testTerminal{}
		w.Set(keyTestTerms, all)
	}
	if tid == "" {
		if t, _ := w.Get(keyTestTerm).(*testTerminal); t != nil && mid == "" {
			return t, nil
		}
		tid = w.Lab.Terminal.ID()
	}
	t := all[tid]
	if t == nil {
		t = &testTerminal{tid: tid, stan: 900000}
		if pt, ok := w.Profile.Terminal(tid); ok {
			t.mid = pt.Merchant
		} else if len(w.Profile.Merchants) > 0 {
			t.mid = w.Profile.Merchants[0].ID
		}
		all[tid] = t
	}
	if mid != "" {
		t.mid = mid
	}
	w.Set(keyTestTerm, t)
	return t, nil
}

// when is the test terminal's clock for fields 7, 12 and 13: the
// scenario's start, one second per STAN, so a run repeats exactly.
func (t *testTerminal) when() time.Time {
	return ScenarioStart.Add(time.Duration(t.stan-900000) * time.Second)
}

func (t *testTerminal) nextSTAN() string {
	t.stan++
	return fmt.Sprintf("%06d", t.stan)
}

// sale builds a sale of amount to pan (a card of the profile when known).
func (t *testTerminal) sale(w *World, amount int64, pan string) iso.Financial {
	stan := t.nextSTAN()
	now := t.when()
	f := iso.Financial{MTI: iso.MTIFinancialRequest, PAN: pan, ProcessingCode: iso.ProcPurchase,
		Amount: fmt.Sprintf("%012d", amount), TransmissionDT: now.Format("0102150405"), STAN: stan,
		LocalTime: now.Format("150405"), LocalDate: now.Format("0102"), EntryMode: iso.EntryManual + "2",
		ConditionCode: "00", TerminalID: t.tid, MerchantID: t.mid, Currency: w.Profile.CurrencyCode,
		Reserved60: "000001" + w.software()}
	if c, ok := w.Profile.CardByPAN(pan); ok {
		f.Expiry = c.ExpiryYYMM()
	}
	return f
}

// software is the version the test terminal reports: the profile's for
// the lab's terminal.
func (w *World) software() string {
	if pt, ok := w.Profile.Terminal(w.Lab.Terminal.ID()); ok && pt.Software != "" {
		return pt.Software
	}
	return "2.1.0"
}

// exchange sends m to the host on a fresh connection and returns the
// answer; the traffic is recorded on the timeline as "test-terminal".
func (t *testTerminal) exchange(ctx context.Context, w *World, v any) (*iso8583.Message, error) {
	m, err := iso.NewMessage(v)
	if err != nil {
		return nil, err
	}
	mine, theirs := net.Pipe()
	if err := w.Lab.Host.ServeConn(theirs); err != nil {
		mine.Close()
		return nil, fmt.Errorf("test terminal %s: the host refused the connection: %w", t.tid, err)
	}
	d := w.Lab.Dialect()
	c, err := connection.NewFrom(mine, d.Spec, iso.ReadLength, iso.WriteLength,
		connection.SendTimeout(w.D(30*time.Second)), connection.IdleTime(24*time.Hour), connection.ReadTimeout(24*time.Hour),
		connection.SetMessageReader(d), connection.SetMessageWriter(d))
	if err != nil {
		mine.Close()
		return nil, err
	}
	defer c.Close()
	mti, _ := m.GetMTI()
	w.Lab.Recorder.Add(harness.Event{Source: "test-terminal", Kind: "iso_out", MTI: mti, Fields: terminal.MaskFields(m)})
	resp, err := c.Send(m)
	if err != nil {
		return nil, fmt.Errorf("test terminal %s: %s: %w", t.tid, mti, err)
	}
	rmti, _ := resp.GetMTI()
	fields := terminal.MaskFields(resp)
	w.Lab.Recorder.Add(harness.Event{Source: "test-terminal", Kind: "iso_in", MTI: rmti, Code: fields["39"], Fields: fields})
	t.codes = append(t.codes, fields["39"])
	return resp, nil
}

// send sends a financial request and keeps it for "the same sale again".
func (t *testTerminal) send(ctx context.Context, w *World, f iso.Financial) error {
	t.last = &f
	_, err := t.exchange(ctx, w, &f)
	return err
}

// sendRaw writes one frame as it is and reads one answer frame: for
// requests the ISO 8583 library refuses to build.
func (t *testTerminal) sendRaw(w *World, frame []byte) error {
	mine, theirs := net.Pipe()
	defer mine.Close()
	if err := w.Lab.Host.ServeConn(theirs); err != nil {
		return fmt.Errorf("test terminal %s: the host refused the connection: %w", t.tid, err)
	}
	mine.SetDeadline(time.Now().Add(w.D(30 * time.Second)))
	w.Lab.Recorder.Add(harness.Event{Source: "test-terminal", Kind: "frame_out", Text: fmt.Sprintf("%d bytes, malformed", len(frame))})
	d := w.Lab.Dialect()
	framed, err := d.AppendFrame(nil, iso.Envelope{}, frame)
	if err != nil {
		return fmt.Errorf("test terminal %s: %w", t.tid, err)
	}
	if _, err := mine.Write(framed); err != nil {
		return fmt.Errorf("test terminal %s: writing the frame: %w", t.tid, err)
	}
	_, body, off, err := d.ReadFrame(mine)
	if err != nil {
		return fmt.Errorf("test terminal %s: no answer to the malformed frame: %w", t.tid, err)
	}
	resp, err := d.Unpack(body, off)
	if err != nil {
		return fmt.Errorf("test terminal %s: the host's answer does not unpack: %w", t.tid, err)
	}
	rmti, _ := resp.GetMTI()
	fields := terminal.MaskFields(resp)
	w.Lab.Recorder.Add(harness.Event{Source: "test-terminal", Kind: "iso_in", MTI: rmti, Code: fields["39"], Fields: fields})
	t.codes = append(t.codes, fields["39"])
	return nil
}

// signOn sends 0800 70=001 with a software version and keeps the session
// PIN key of field 62.
func (t *testTerminal) signOn(ctx context.Context, w *World, software string) error {
	now := t.when()
	req := iso.Network{MTI: iso.MTINetworkRequest, TransmissionDT: now.Format("0102150405"), STAN: t.nextSTAN(),
		TerminalID: t.tid, MerchantID: t.mid, Reserved60: software, NetworkCode: iso.NetSignOn}
	resp, err := t.exchange(ctx, w, &req)
	if err != nil {
		return err
	}
	var r iso.Network
	if err := iso.Decode(resp, &r); err != nil {
		return err
	}
	if r.ResponseCode != iso.RCApproved || len(r.KeyData) < 32 {
		return nil // a refusal is the outcome the Then step checks
	}
	enc, err := hex.DecodeString(r.KeyData[:32])
	if err != nil {
		return fmt.Errorf("test terminal %s: field 62 is not hex: %w", t.tid, err)
	}
	if t.key, err = card.DecryptKey(w.Profile.Keys.TMK(), enc); err != nil {
		return fmt.Errorf("test terminal %s: field 62: %w", t.tid, err)
	}
	return nil
}

// rawTID and rawMID read the optional test terminal and merchant of a step.
func testTermArgs(ctx context.Context, tid, mid string) (*World, *testTerminal, error) {
	w := world(ctx)
	t, err := w.testTerminal(tid, mid)
	return w, t, err
}

func rawSteps() []Step {
	const who = `^(?:a|the) test terminal(?: "([^"]*)")?`
	return []Step{
		{Domain: "host", Pattern: who + ` signs on(?: with software "([^"]*)")?$`,
			Example: `When a test terminal "TERM0001" signs on with software "1.9.0"`,
			Help:    "A bare ISO 8583 client of the host (certification style): 0800 70=001; without a version, the profile terminal's.",
			Fn: func(ctx context.Context, tid, software string) error {
				w, t, err := testTermArgs(ctx, tid, "")
				if err != nil {
					return err
				}
				if software == "" {
					software = w.software()
				}
				return t.signOn(ctx, w, software)
			}},
		{Domain: "host", Pattern: who + ` sends a sale of (\S+) with card "([^"]*)"(?: for merchant "([^"]*)")?$`,
			Example: `When a test terminal "TERM9999" sends a sale of 10.00 with card "visa-credit"`,
			Help:    "A keyed sale (22 = 012: PAN, expiry, no PIN) straight to the host; the test terminal is TERM0001 unless named, of its profile merchant unless given.",
			Fn: func(ctx context.Context, tid, amount, alias, mid string) error {
				w, t, err := testTermArgs(ctx, tid, mid)
				if err != nil {
					return err
				}
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				c, err := w.card(alias)
				if err != nil {
					return err
				}
				return t.send(ctx, w, t.sale(w, a, c.PAN))
			}},
		{Domain: "host", Pattern: who + ` sends (\d+) sales of (\S+) with card "([^"]*)"$`,
			Example: `When the test terminal sends 10 sales of 1.00 with card "cup-debit"`,
			Help:    "Keyed sales one after the other; the answers are checked with \"the host answered ... to each of them\".",
			Fn: func(ctx context.Context, tid string, n int, amount, alias string) error {
				w, t, err := testTermArgs(ctx, tid, "")
				if err != nil {
					return err
				}
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				c, err := w.card(alias)
				if err != nil {
					return err
				}
				t.codes = nil
				for range n {
					if err := t.send(ctx, w, t.sale(w, a, c.PAN)); err != nil {
						return err
					}
				}
				return nil
			}},
		{Domain: "host", Pattern: who + ` sends a sale of (\S+) with card number "(\d+)"$`,
			Example: `When the test terminal sends a sale of 10.00 with card number "4761739001010011"`,
			Help:    "Any card number: one failing the Luhn check, or of a BIN no issuer knows.",
			Fn: func(ctx context.Context, tid, amount, pan string) error {
				w, t, err := testTermArgs(ctx, tid, "")
				if err != nil {
					return err
				}
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				f := t.sale(w, a, pan)
				f.Expiry = "3012"
				return t.send(ctx, w, f)
			}},
		{Domain: "host", Pattern: who + ` sends a sale of (\S+) with card "([^"]*)" and (PIN "\d+"|processing code "\d+"|a forged cryptogram)$`,
			Example: `When the test terminal sends a sale of 10.00 with card "visa-credit" and a forged cryptogram`,
			Help: `PIN "1234": a PIN block under the test terminal's session key (sign on first; without a session the host cannot read it); ` +
				`processing code "990000": any field 3; a forged cryptogram: field 55 whose ARQC does not verify.`,
			Fn: func(ctx context.Context, tid, amount, alias, extra string) error {
				w, t, err := testTermArgs(ctx, tid, "")
				if err != nil {
					return err
				}
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				c, err := w.card(alias)
				if err != nil {
					return err
				}
				f := t.sale(w, a, c.PAN)
				_, arg, _ := strings.Cut(extra, ` "`)
				arg = strings.TrimSuffix(arg, `"`)
				switch {
				case strings.HasPrefix(extra, "PIN"):
					key := t.key
					if key == nil {
						key = w.Profile.Keys.TMK() // not signed on: a key the host does not hold for this terminal
					}
					if f.PINBlock, err = card.EncryptPIN(key, arg, c.PAN); err != nil {
						return err
					}
					f.EntryMode = iso.EntryManual + "1"
				case strings.HasPrefix(extra, "processing code"):
					f.ProcessingCode = arg
				default:
					seq := c.PANSeq
					r := card.ICCRequest{Amount: a, CountryCode: w.Profile.CountryCode, CurrencyCode: w.Profile.CurrencyCode,
						Date: t.when().Format("060102"), ATC: uint16(t.stan % 65536), PANSeq: seq}
					f.ICC = card.BuildICCData(r, []byte{0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04})
					f.EntryMode = iso.EntryChip + "2"
				}
				return t.send(ctx, w, f)
			}},
		{Domain: "host", Pattern: who + ` sends the same sale again$`, Example: "When the test terminal sends the same sale again",
			Help: "The last request again, same STAN and date: a duplicate transmission.",
			Fn: func(ctx context.Context, tid string) error {
				w, t, err := testTermArgs(ctx, tid, "")
				if err != nil {
					return err
				}
				if t.last == nil {
					return errors.New("the test terminal has sent no sale yet")
				}
				return t.send(ctx, w, *t.last)
			}},
		{Domain: "host", Pattern: who + ` sends a reversal of a sale the host never saw$`,
			Example: "When the test terminal sends a reversal of a sale the host never saw",
			Fn: func(ctx context.Context, tid string) error {
				w, t, err := testTermArgs(ctx, tid, "")
				if err != nil {
					return err
				}
				c := w.Profile.Cards[0]
				f := t.sale(w, 1000, c.PAN)
				f.MTI, f.ResponseCode = iso.MTIReversal, "98"
				f.OriginalData = iso.OriginalData(iso.MTIFinancialRequest, "899999", f.TransmissionDT)
				return t.send(ctx, w, f)
			}},
		{Domain: "host", Pattern: who + ` sends a malformed request$`, Example: "When the test terminal sends a malformed request",
			Help: "A 0200 frame whose bitmap is not hex: the host must answer 30, not drop the connection.",
			Fn: func(ctx context.Context, tid string) error {
				w, t, err := testTermArgs(ctx, tid, "")
				if err != nil {
					return err
				}
				f := t.sale(w, 1000, w.Profile.Cards[0].PAN)
				m, err := iso.NewMessage(&f)
				if err != nil {
					return err
				}
				if m, err = w.Lab.Dialect().Convert(m); err != nil {
					return err
				}
				packed, err := m.Pack()
				if err != nil {
					return err
				}
				for i := 4; i < 20 && i < len(packed); i++ {
					packed[i] = 'Z'
				}
				return t.sendRaw(w, packed)
			}},
		{Domain: "host", Pattern: `^the host answers "(\d\d)"$`, Example: `Then the host answers "58"`,
			Help: "The response code of the test terminal's last request.",
			Fn: func(ctx context.Context, code string) error {
				t, _ := world(ctx).Get(keyTestTerm).(*testTerminal)
				if t == nil || len(t.codes) == 0 {
					return errors.New("no test terminal request was answered in this scenario")
				}
				return diff("the host's answer (field 39)", code, t.codes[len(t.codes)-1])
			}},
		{Domain: "host", Pattern: `^the host answered "(\d\d)" to each of them$`, Example: `Then the host answered "00" to each of them`,
			Fn: func(ctx context.Context, code string) error {
				t, _ := world(ctx).Get(keyTestTerm).(*testTerminal)
				if t == nil || len(t.codes) == 0 {
					return errors.New("no test terminal request was answered in this scenario")
				}
				want := make([]string, len(t.codes))
				for i := range want {
					want[i] = code
				}
				return diff("the host's answers", want, t.codes)
			}},
	}
}
