package scenarios

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

func certifyCheckSteps() []Step {
	const d = "certify checks"
	return []Step{
		{Domain: d, Pattern: `^the terminal sent a "(\d{4})" with these fields:$`,
			Example: "Then the terminal sent a \"0200\" with these fields:\n  | field | value |\n  | 3     | 000000 |\n  | 22    | /05[0-9]/ |",
			Help:    "The case's last request of that type; a value is literal, /regexp/, (present) or (absent).",
			Fn: func(ctx context.Context, mti string, t *godog.Table) error {
				ids, values, err := fieldTable(t)
				if err != nil {
					return err
				}
				cc := certCaseOf(ctx)
				return cc.waitFor(ctx, cc.s.opts.Timeout, func(evs []acquirer.Event) error {
					ev, ok := lastRequest(evs, mti)
					if !ok {
						return fmt.Errorf("the terminal sent no %s in this case", mti)
					}
					var bad []string
					for i, id := range ids {
						got, present := ev.Fields[strconv.Itoa(id)]
						if !matchValue(values[i], got, present) {
							if !present {
								got = "(absent)"
							}
							bad = append(bad, fmt.Sprintf("field %d (%s): want %s, got %s", id, fieldName(id), values[i], got))
						}
					}
					if len(bad) > 0 {
						return final("%s:\n  %s", describe(ev), strings.Join(bad, "\n  "))
					}
					return nil
				})
			}},
		{Domain: d, Pattern: `^every message the terminal sent is well formed$`, Example: "Then every message the terminal sent is well formed",
			Help: "Each request carries the fields its type needs, in possim87's formats (dates, times, STAN, amounts, IDs).",
			Fn: func(ctx context.Context) error {
				var bad []string
				n := 0
				for _, ev := range certCaseOf(ctx).events() {
					if ev.Dir != "in" {
						continue
					}
					n++
					for _, b := range malformed(ev) {
						bad = append(bad, describe(ev)+": "+b)
					}
				}
				if n == 0 {
					return fmt.Errorf("the terminal sent nothing in this case")
				}
				if len(bad) > 0 {
					return fmt.Errorf("badly formed messages:\n  %s", strings.Join(bad, "\n  "))
				}
				return nil
			}},
		{Domain: d, Pattern: `^the host answered the (?:sale|void|refund|pre-authorisation|completion|settlement|sign-on|request) "(\w\w)"$`,
			Example: `Then the host answered the sale "00"`, Help: "The request the last prompt waited for, and the host's answer on the wire.",
			Fn: func(ctx context.Context, code string) error {
				cc := certCaseOf(ctx)
				req := cc.last
				if req == nil {
					return fmt.Errorf("no request to check: the case has no operator step before")
				}
				return cc.waitFor(ctx, cc.s.opts.Timeout, func(evs []acquirer.Event) error {
					a, ok := answerOf(evs, *req)
					if !ok {
						if held, ok := withheld(evs, *req); ok {
							return final("the host did not answer %s (%s)", describe(*req), held.Note)
						}
						return fmt.Errorf("the host has not answered %s", describe(*req))
					}
					if a.RespCode != code {
						return final("the host answered %s with %s (%s), want %s (%s)", describe(*req), a.RespCode,
							iso.ResponseText(a.RespCode), code, iso.ResponseText(code))
					}
					return nil
				})
			}},
		{Domain: d, Pattern: `^the terminal reversed the sale within (\d+) seconds with reason "(\d\d)"$`,
			Example: `Then the terminal reversed the sale within 45 seconds with reason "98"`,
			Help:    "A 0400 (or 0401) with field 90 = the sale's MTI, STAN and field 7, and the sale's card, amount and processing code.",
			Fn: func(ctx context.Context, secs int, reason string) error {
				cc := certCaseOf(ctx)
				sale := cc.last
				if sale == nil || !isFinancial(sale.MTI) {
					return fmt.Errorf("no sale to check: the case has no sale before")
				}
				window := time.Duration(secs) * time.Second
				return cc.waitFor(ctx, time.Until(sale.Time.Add(window+time.Second)), func(evs []acquirer.Event) error {
					r, err := reversalOf(evs, *sale)
					if err != nil {
						return err
					}
					if took := r.Time.Sub(sale.Time); took > window {
						return final("the reversal %s came %.1f s after the sale, want within %d s", describe(r), took.Seconds(), secs)
					}
					want := map[int]string{90: iso.OriginalData(sale.MTI, sale.Fields["11"], sale.Fields["7"]), 39: reason,
						2: sale.Fields["2"], 3: sale.Fields["3"], 4: sale.Fields["4"], 41: sale.Fields["41"], 42: sale.Fields["42"]}
					var bad []string
					for _, id := range []int{90, 39, 2, 3, 4, 41, 42} {
						if got := r.Fields[strconv.Itoa(id)]; got != want[id] {
							bad = append(bad, fmt.Sprintf("field %d (%s): want %q, got %q", id, fieldName(id), want[id], got))
						}
					}
					if r.Fields["11"] == sale.Fields["11"] {
						bad = append(bad, "field 11 (STAN): the reversal must have its own STAN, got the sale's")
					}
					if len(bad) > 0 {
						return final("reversal %s of %s:\n  %s", describe(r), describe(*sale), strings.Join(bad, "\n  "))
					}
					cc.reversal = &r
					return nil
				})
			}},
		{Domain: d, Pattern: `^the terminal repeated the reversal as "0401" until the host answered it$`,
			Example: `Then the terminal repeated the reversal as "0401" until the host answered it`,
			Help:    "The first reversal went unanswered: the terminal repeats it (0401, same STAN and field 90) before anything else.",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				rev := cc.reversal
				if rev == nil {
					return fmt.Errorf("no reversal to follow: check the reversal first (the terminal reversed the sale ...)")
				}
				return cc.waitFor(ctx, cc.s.opts.Timeout, func(evs []acquirer.Event) error {
					if _, ok := answerOf(evs, *rev); ok {
						return final("the host answered the first reversal %s: nothing to repeat", describe(*rev))
					}
					for _, ev := range after(evs, *rev) {
						switch {
						case ev.Dir != "in":
						case isFinancial(ev.MTI):
							return final("the terminal sent %s before repeating the reversal %s of STAN %s", describe(ev), describe(*rev), origSTAN(*rev))
						case isReversal(ev.MTI) && ev.Fields["90"] == rev.Fields["90"]:
							if ev.MTI != iso.MTIReversalRepeat {
								return final("the repeat %s went as %s, want 0401", describe(ev), ev.MTI)
							}
							if ev.Fields["11"] != rev.Fields["11"] {
								return final("the repeat %s has another STAN than the reversal %s", describe(ev), describe(*rev))
							}
							if a, ok := answerOf(evs, ev); ok && a.RespCode != iso.RCHostUnavailable && a.RespCode != iso.RCSystemError {
								return nil
							}
						}
					}
					return fmt.Errorf("no answered repeat (0401) of the reversal %s of STAN %s", describe(*rev), origSTAN(*rev))
				})
			}},
		{Domain: d, Pattern: `^the terminal sent no new transaction before the reversal was answered$`,
			Example: "Then the terminal sent no new transaction before the reversal was answered",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				rev := cc.reversal
				if rev == nil {
					return fmt.Errorf("no reversal to follow: check the reversal first (the terminal reversed the sale ...)")
				}
				return cc.waitFor(ctx, cc.s.opts.Timeout, func(evs []acquirer.Event) error {
					for _, ev := range append([]acquirer.Event{*rev}, after(evs, *rev)...) {
						switch {
						case ev.Dir != "in":
						case isFinancial(ev.MTI):
							return final("the terminal sent %s while the reversal of STAN %s was still unanswered", describe(ev), origSTAN(*rev))
						case isReversal(ev.MTI) && ev.Fields["90"] == rev.Fields["90"]:
							if _, ok := answerOf(evs, ev); ok {
								return nil
							}
						}
					}
					return fmt.Errorf("the reversal of STAN %s was never answered", origSTAN(*rev))
				})
			}},
		{Domain: d, Pattern: `^the terminal did not reverse the sale$`, Example: "Then the terminal did not reverse the sale",
			Help: "A declined sale is over: nothing to reverse.",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				if cc.last == nil {
					return fmt.Errorf("no sale to check: the case has no sale before")
				}
				if r, err := reversalOf(cc.events(), *cc.last); err == nil {
					return fmt.Errorf("the terminal reversed %s with %s", describe(*cc.last), describe(r))
				}
				return nil
			}},
		{Domain: d, Pattern: `^the settlement totals match the host's journal$`, Example: "Then the settlement totals match the host's journal",
			Help: "The last 0500's counts and amounts (74, 76, 86, 88) against what the host journaled for that terminal and batch (60).",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				r, ok := lastRequest(cc.events(), iso.MTIReconcile)
				if !ok {
					return fmt.Errorf("the terminal sent no 0500 in this case")
				}
				batch := r.Fields["60"]
				if len(batch) < 6 {
					return fmt.Errorf("%s: field 60 (%s) %q carries no batch number", describe(r), fieldName(60), batch)
				}
				t, err := cc.s.host.Ledger().BatchTotals(ctx, r.Fields["41"], batch[:6])
				if err != nil {
					return fmt.Errorf("reading the host's journal: %w", err)
				}
				num := func(id int) int64 { v, _ := strconv.ParseInt(r.Fields[strconv.Itoa(id)], 10, 64); return v }
				term := fmt.Sprintf("%d sales %s, %d refunds %s", num(74), money.Format(num(86)), num(76), money.Format(num(88)))
				host := fmt.Sprintf("%d sales %s, %d refunds %s", t.SaleCount, money.Format(t.SaleAmount), t.RefundCount, money.Format(t.RefundAmount))
				if term != host {
					return fmt.Errorf("batch %s of terminal %s: the terminal's totals are %s, the host journaled %s", batch[:6], r.Fields["41"], term, host)
				}
				return nil
			}},
		{Domain: d, Pattern: `^the terminal uploaded its batch and settled again in balance$`,
			Example: "Then the terminal uploaded its batch and settled again in balance",
			Help:    "After a 95: one 0320 per transaction of the batch (the 0500's 74 + 76), then a second 0500 answered 00.",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				return cc.waitFor(ctx, cc.s.opts.Timeout, func(evs []acquirer.Event) error {
					var first *acquirer.Event
					uploads := 0
					for _, ev := range evs {
						if ev.Dir != "in" {
							continue
						}
						switch {
						case ev.MTI == iso.MTIReconcile && first == nil:
							a, ok := answerOf(evs, ev)
							if !ok || a.RespCode != iso.RCReconcileError {
								return final("the first settlement %s was not answered 95", describe(ev))
							}
							first = &ev
						case ev.MTI == iso.MTIBatchUpload && first != nil:
							uploads++
						case ev.MTI == iso.MTIReconcile:
							n, _ := strconv.Atoi(first.Fields["74"])
							m, _ := strconv.Atoi(first.Fields["76"])
							if uploads != n+m {
								return final("the terminal uploaded %d transactions (0320), its batch holds %d", uploads, n+m)
							}
							if a, ok := answerOf(evs, ev); !ok || a.RespCode != iso.RCApproved {
								return fmt.Errorf("the second settlement %s is not answered 00", describe(ev))
							}
							return nil
						}
					}
					if first == nil {
						return fmt.Errorf("the terminal sent no 0500 in this case")
					}
					return fmt.Errorf("after the 95 the terminal uploaded %d transactions and did not settle again", uploads)
				})
			}},
	}
}

// reversalOf finds the reversal of sale; an error says why there is none
// (final when the terminal went on to something else).
func reversalOf(evs []acquirer.Event, sale acquirer.Event) (acquirer.Event, error) {
	for _, ev := range after(evs, sale) {
		if ev.Dir != "in" {
			continue
		}
		if isReversal(ev.MTI) && origSTAN(ev) == sale.Fields["11"] {
			return ev, nil
		}
		if isFinancial(ev.MTI) {
			return acquirer.Event{}, final("the terminal sent %s and no reversal of %s", describe(ev), describe(sale))
		}
	}
	return acquirer.Event{}, fmt.Errorf("no reversal (0400) of %s", describe(sale))
}

// withheld is the answer to req that a fault kept off the wire.
func withheld(evs []acquirer.Event, req acquirer.Event) (acquirer.Event, bool) {
	for _, ev := range after(evs, req) {
		if ev.Dir == "out" && ev.MTI == iso.ResponseMTI(req.MTI) && ev.Fields["11"] == req.Fields["11"] && notSent(ev) {
			return ev, true
		}
	}
	return acquirer.Event{}, false
}

// after is the events later than ev.
func after(evs []acquirer.Event, ev acquirer.Event) []acquirer.Event {
	for i := range evs {
		if evs[i].Time.After(ev.Time) {
			return evs[i:]
		}
	}
	return nil
}

// origSTAN is the STAN of the original a reversal names in field 90.
func origSTAN(ev acquirer.Event) string {
	_, stan, _, err := iso.ParseOriginalData(ev.Fields["90"])
	if err != nil {
		return "?"
	}
	return stan
}
