package scenarios

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

// certifyCapsSteps are the certify steps of the terminal's own
// capabilities: PIN re-entry after 55, the PIN key change the host asks
// for, and the idle echo.
func certifyCapsSteps() []Step {
	const (
		host  = "certify host"
		op    = "certify operator"
		check = "certify checks"
	)
	echo := want{"an echo test (0800, field 70 301)", func(ev acquirer.Event) bool {
		return ev.MTI == iso.MTINetworkRequest && ev.Fields["70"] == iso.NetEcho
	}}
	return []Step{
		{Domain: host, Pattern: `^the host asks the terminal for a key change$`, Example: "Given the host asks the terminal for a key change",
			Help: `The answer to the next sale carries field 53 "` + acquirer.KeyChangeRequired + `", and so does every answer after it until the terminal sends a key change (0800, 70=101) or signs on.`,
			Fn: func(ctx context.Context) error {
				_, err := certCaseOf(ctx).s.host.AddFault(acquirer.Fault{Name: "key change", Match: purchase, Action: acquirer.ActKeyChange})
				return err
			}},

		{Domain: op, Pattern: `^the operator sells (\d+\.\d\d) with card "([^"]+)" by (chip|tap|swipe) with PINs ((?:"\d+"(?:, | then )?)+)$`,
			Example: `When the operator sells 10.00 with card "visa-credit" by chip with PINs "1111" then "1234"`,
			Help:    "One PIN per prompt: the first, then the next each time the terminal asks again after an incorrect PIN (POSSIM_PIN=1111,1234).",
			Fn: func(ctx context.Context, amount, alias, entry, list string) error {
				pins := quoted(list)
				return certCaseOf(ctx).operate(ctx, prompt{Op: "sale", Amount: amount, Card: alias, Entry: entry, PIN: strings.Join(pins, ",")},
					want{"a 0200 purchase (field 3 00xxxx)", func(ev acquirer.Event) bool { return isPurchase(ev) }})
			}},
		{Domain: op, Pattern: `^the operator leaves the terminal idle for (\d+) seconds, set to send an echo test after (\d+) seconds idle$`,
			Example: "When the operator leaves the terminal idle for 8 seconds, set to send an echo test after 3 seconds idle",
			Help:    "Signed on and connected, nobody touches the terminal (POSSIM_OP=idle, POSSIM_SECONDS, POSSIM_ECHO_IDLE). The step lasts the idle time.",
			Fn: func(ctx context.Context, secs, every int) error {
				cc := certCaseOf(ctx)
				period := time.Duration(secs) * time.Second
				if period >= cc.s.opts.Timeout {
					return fmt.Errorf("idle for %d s: the operator command may run only %s (--timeout); give a longer --timeout", secs, cc.s.opts.Timeout)
				}
				err := cc.operate(ctx, prompt{Op: "idle", Seconds: strconv.Itoa(secs), EchoIdle: strconv.Itoa(every)}, echo)
				if err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Until(cc.prompted.Add(period))):
				}
				return nil
			}},

		{Domain: check, Pattern: `^the terminal asked for the PIN again after each "55", each entry a new "0200" with a new STAN$`,
			Example: `Then the terminal asked for the PIN again after each "55", each entry a new "0200" with a new STAN`,
			Help:    "Every 0200 of the last prompt answered 55 is followed by another with a PIN block, a STAN not used before, the same card and amount.",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				return cc.waitFor(ctx, cc.s.opts.Timeout, func(evs []acquirer.Event) error {
					entries := pinEntries(evs, cc.prompted)
					if len(entries) == 0 {
						return final("the terminal sent no 0200 with a PIN block (field 52) for the prompt")
					}
					seen := map[string]bool{}
					for i, e := range entries {
						if seen[e.Fields["11"]] {
							return final("PIN entry %d, %s, reuses the STAN of an earlier entry: each entry is a new 0200 with a new STAN", i+1, describe(e))
						}
						seen[e.Fields["11"]] = true
						if i > 0 {
							first := entries[0]
							for _, id := range []int{2, 4} {
								if e.Fields[strconv.Itoa(id)] != first.Fields[strconv.Itoa(id)] {
									return final("PIN entry %d, %s: field %d (%s) %q differs from the first entry's %q", i+1, describe(e), id,
										fieldName(id), e.Fields[strconv.Itoa(id)], first.Fields[strconv.Itoa(id)])
								}
							}
						}
						a, ok := answerOf(evs, e)
						if !ok {
							return fmt.Errorf("the host has not answered PIN entry %d, %s", i+1, describe(e))
						}
						if a.RespCode == iso.RCIncorrectPIN && i == len(entries)-1 {
							return fmt.Errorf("the host answered PIN entry %d, %s, with 55 (incorrect PIN) and the terminal sent no new 0200 after it: "+
								"it did not ask for the PIN again", i+1, describe(e))
						}
					}
					return nil
				})
			}},
		{Domain: check, Pattern: `^the host answered the PIN entries ((?:"\w\w"(?:, | then )?)+)$`,
			Example: `Then the host answered the PIN entries "55" then "00"`,
			Help:    "The answers to the 0200s with a PIN block of the last prompt, in order.",
			Fn: func(ctx context.Context, list string) error {
				cc := certCaseOf(ctx)
				wantCodes := quoted(list)
				return cc.waitFor(ctx, cc.s.opts.Timeout, func(evs []acquirer.Event) error {
					var stans, codes []string
					for _, e := range pinEntries(evs, cc.prompted) {
						code := "(none)"
						if a, ok := answerOf(evs, e); ok {
							code = a.RespCode
						}
						stans, codes = append(stans, e.Fields["11"]), append(codes, code)
					}
					if strings.Join(codes, " ") != strings.Join(wantCodes, " ") {
						err := fmt.Errorf("the host answered the PIN entries (STANs %s) %s, want %s", strings.Join(stans, ", "),
							strings.Join(codes, ", "), strings.Join(wantCodes, ", "))
						if len(codes) > len(wantCodes) {
							return final("%w", err)
						}
						return err
					}
					return nil
				})
			}},
		{Domain: check, Pattern: `^the terminal stopped at the "75": no PIN entry after it$`,
			Example: `Then the terminal stopped at the "75": no PIN entry after it`,
			Help:    "75 (PIN tries exceeded) ends the sale whatever the terminal's own limit: no 0200 after the one the host answered 75.",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				evs := cc.events()
				entries := pinEntries(evs, cc.prompted)
				for i, e := range entries {
					a, ok := answerOf(evs, e)
					if !ok || a.RespCode != iso.RCPINTriesExceeded {
						continue
					}
					for _, ev := range after(evs, a) {
						if ev.Dir == "in" && isFinancial(ev.MTI) {
							return fmt.Errorf("after the 75 (PIN tries exceeded) to PIN entry %d, %s, the terminal sent %s", i+1, describe(e), describe(ev))
						}
					}
					return nil
				}
				return fmt.Errorf("the host answered none of the %d PIN entries with 75 (PIN tries exceeded)", len(entries))
			}},
		{Domain: check, Pattern: `^the terminal changed its PIN key \(0800 70=101\) before its next sale$`,
			Example: "Then the terminal changed its PIN key (0800 70=101) before its next sale",
			Help:    "After the first answer that asked for a key change (field 53 01...), a 0800 with field 70 = 101, answered 00 with a key in field 62, comes before any new 0200, 0100 or 0220.",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				return cc.waitFor(ctx, cc.s.opts.Timeout, checkKeyChange)
			}},
		{Domain: check, Pattern: `^the sale after the key change was approved: its PIN verified under the new key$`,
			Example: "Then the sale after the key change was approved: its PIN verified under the new key",
			Help:    "The first 0200 after the key change carries a PIN block and the host, which checks it under the key of the key change, answered 00.",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				return cc.waitFor(ctx, cc.s.opts.Timeout, checkSaleUnderNewKey)
			}},
		{Domain: check, Pattern: `^the terminal sent an echo test \(0800 70=301\) after each (\d+) seconds idle, give or take (\d+)$`,
			Example: "Then the terminal sent an echo test (0800 70=301) after each 3 seconds idle, give or take 1",
			Help: "Over the idle time of the last prompt, from the terminal's first message: each echo test comes that long after the message before it " +
				"(either way), give or take the tolerance; the link is never idle longer; at least one echo, each answered.",
			Fn: func(ctx context.Context, every, tol int) error {
				cc := certCaseOf(ctx)
				evs := cc.s.log.Query(acquirer.RequestFilter{Since: cc.prompted})
				return checkIdleEchoes(evs, time.Duration(every)*time.Second, time.Duration(tol)*time.Second, time.Now())
			}},
	}
}

// checkIdleEchoes checks the idle echoes of evs (the messages of an idle
// period that ends at end): each one about every after the message before
// it, and no longer silence from the first message on.
func checkIdleEchoes(evs []acquirer.Event, every, tol time.Duration, end time.Time) error {
	var bad []string
	echoes := 0
	for i := 1; i < len(evs); i++ {
		ev, prev := evs[i], evs[i-1]
		gap := ev.Time.Sub(prev.Time)
		if gap > every+tol {
			bad = append(bad, fmt.Sprintf("the link was idle %.1f s before %s %s, longer than %s + %s without an echo test", gap.Seconds(), ev.MTI, ev.Fields["11"], every, tol))
		}
		if ev.Dir != "in" || ev.MTI != iso.MTINetworkRequest || ev.Fields["70"] != iso.NetEcho {
			continue
		}
		echoes++
		if gap < every-tol {
			bad = append(bad, fmt.Sprintf("the echo test STAN %s came %.1f s after the message before it, want %s ± %s", ev.Fields["11"], gap.Seconds(), every, tol))
		}
		if a, ok := answerOf(evs, ev); !ok || a.RespCode != iso.RCApproved {
			bad = append(bad, fmt.Sprintf("the echo test STAN %s was not answered 00", ev.Fields["11"]))
		}
	}
	if len(evs) == 0 {
		return fmt.Errorf("the terminal sent nothing while idle")
	}
	if last := evs[len(evs)-1]; end.Sub(last.Time) > every+tol {
		bad = append(bad, fmt.Sprintf("the link was idle %.1f s at the end, after %s %s, longer than %s + %s without an echo test",
			end.Sub(last.Time).Seconds(), last.MTI, last.Fields["11"], every, tol))
	}
	if echoes == 0 {
		bad = append(bad, fmt.Sprintf("no echo test (0800, 70=301) after %s idle", every))
	}
	if len(bad) > 0 {
		return fmt.Errorf("idle echo:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}

// isPurchase is a sale: 0200 with processing code 00xxxx.
func isPurchase(ev acquirer.Event) bool {
	return ev.MTI == iso.MTIFinancialRequest && strings.HasPrefix(ev.Fields["3"], "00")
}

// pinEntries are the sales with a PIN block the terminal sent from mark on.
func pinEntries(evs []acquirer.Event, mark time.Time) []acquirer.Event {
	var out []acquirer.Event
	for _, ev := range evs {
		if _, pin := ev.Fields["52"]; ev.Dir == "in" && !ev.Time.Before(mark) && isPurchase(ev) && pin {
			out = append(out, ev)
		}
	}
	return out
}

// keyChangeAsked is the first answer that asked for a key change.
func keyChangeAsked(evs []acquirer.Event) (acquirer.Event, bool) {
	for _, ev := range evs {
		if ev.Dir == "out" && !notSent(ev) && strings.HasPrefix(ev.Fields["53"], "01") {
			return ev, true
		}
	}
	return acquirer.Event{}, false
}

// lastRequestWhere is the last request ok selects.
func lastRequestWhere(evs []acquirer.Event, ok func(acquirer.Event) bool) (acquirer.Event, bool) {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Dir == "in" && ok(evs[i]) {
			return evs[i], true
		}
	}
	return acquirer.Event{}, false
}

// checkKeyChange: after the first answer that asked for a key change, a
// key change answered 00 with a key comes before any new transaction.
func checkKeyChange(evs []acquirer.Event) error {
	asked, ok := keyChangeAsked(evs)
	if !ok {
		return final("no answer of the host carried field 53 %q in this case: the host never asked for a key change", acquirer.KeyChangeRequired)
	}
	for _, ev := range after(evs, asked) {
		switch {
		case ev.Dir != "in":
		case isFinancial(ev.MTI):
			return final("the host asked for a key change (field 53 of its %s to STAN %s) and the terminal sent %s without changing its key first (0800, 70=101)",
				asked.MTI, asked.Fields["11"], describe(ev))
		case ev.MTI == iso.MTINetworkRequest && ev.Fields["70"] == iso.NetKeyChange:
			a, ok := answerOf(evs, ev)
			if !ok {
				return fmt.Errorf("the host has not answered the key change %s", describe(ev))
			}
			if a.RespCode != iso.RCApproved || a.Fields["62"] == "" {
				return final("the key change %s was answered %s with field 62 %q: want 00 and a key", describe(ev), a.RespCode, a.Fields["62"])
			}
			return nil
		}
	}
	return fmt.Errorf("the host asked for a key change (field 53 of its %s to STAN %s); no key change (0800, 70=101) yet", asked.MTI, asked.Fields["11"])
}

// checkSaleUnderNewKey: the first sale after the last key change carries
// a PIN block the host approved, so verified under the new key.
func checkSaleUnderNewKey(evs []acquirer.Event) error {
	kc, ok := lastRequestWhere(evs, func(ev acquirer.Event) bool {
		return ev.MTI == iso.MTINetworkRequest && ev.Fields["70"] == iso.NetKeyChange
	})
	if !ok {
		return final("the terminal sent no key change (0800, 70=101) in this case")
	}
	for _, ev := range after(evs, kc) {
		if ev.Dir != "in" || !isPurchase(ev) {
			continue
		}
		if _, ok := ev.Fields["52"]; !ok {
			return final("the sale after the key change, %s, carries no PIN block (field 52): nothing proves the new key", describe(ev))
		}
		a, ok := answerOf(evs, ev)
		switch {
		case !ok:
			return fmt.Errorf("the host has not answered %s", describe(ev))
		case a.RespCode == iso.RCIncorrectPIN:
			return final("the host could not verify the PIN block of %s under the new key (answered 55, incorrect PIN): "+
				"the terminal did not load the key of field 62 into its PIN pad", describe(ev))
		case a.RespCode != iso.RCApproved:
			return final("the host answered the sale after the key change, %s, with %s (%s), want 00", describe(ev), a.RespCode, iso.ResponseText(a.RespCode))
		}
		return nil
	}
	return fmt.Errorf("no sale after the key change %s", describe(kc))
}
