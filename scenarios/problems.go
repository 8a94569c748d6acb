package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/terminal"
)

func init() { domains = append(domains, troubleSteps) }

// events returns the terminal's events of a kind, in order.
func (w *World) events(kind string) []harness.Event {
	return w.Lab.Recorder.Filter("terminal", kind)
}

// shownAt finds the first display text containing text (case-insensitive)
// at or after from, and when it was shown.
func (w *World) shownAt(text string, from time.Duration) (time.Duration, bool) {
	for _, e := range w.events("display") {
		if e.At >= from && strings.Contains(strings.ToUpper(e.Text), strings.ToUpper(text)) {
			return e.At, true
		}
	}
	return 0, false
}

func (w *World) displays() []string {
	var out []string
	for _, e := range w.events("display") {
		out = append(out, e.Text)
	}
	return out
}

// troubleSteps are the terminal steps for trouble: payment variants the
// basic sale step does not cover, and what the terminal showed and
// alerted along the way.
func troubleSteps() []Step {
	return []Step{
		{Domain: "terminal", Pattern: `^the cashier takes payment by (credit card|debit card|card) and the customer signs$`,
			Example: "When the cashier takes payment by debit card and the customer signs",
			Help:    "A sale where the cardholder signs instead of entering a PIN (a card without a PIN): the receipt gets a signature line.",
			Fn: func(ctx context.Context, method string) error {
				w := world(ctx)
				req := w.saleRequest(methods[method])
				req.Signature = true
				t, err := w.Lab.Terminal.Sale(ctx, req)
				return w.recordTxn(t, err)
			}},
		{Domain: "terminal", Pattern: `^the cashier takes payment by (credit card|debit card|card) accepting a partial approval$`,
			Example: "When the cashier takes payment by credit card accepting a partial approval",
			Help:    "The merchant accepts a partial approval and collects the rest another way; without this a partial approval is reversed.",
			Fn: func(ctx context.Context, method string) error {
				w := world(ctx)
				req := w.saleRequest(methods[method])
				req.AcceptPartial = true
				t, err := w.Lab.Terminal.Sale(ctx, req)
				return w.recordTxn(t, err)
			}},
		{Domain: "terminal", Pattern: `^the cashier takes payment by QR code$`, Example: "When the cashier takes payment by QR code",
			Help: "A QR sale of the basket (scanned, keyed or an amount); the customer's payment code is read from the scanner.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				req := w.saleRequest(terminal.QR)
				t, err := w.Lab.Terminal.QR(ctx, req)
				return w.recordTxn(t, err)
			}},
		{Domain: "terminal", Pattern: `^the cashier prints the queued receipts$`, Example: "When the cashier prints the queued receipts",
			Help: "Prints what the terminal queued while the printer was not ready; the outcome is kept for the Then steps.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				w.Set(keyErr, w.Lab.Terminal.FlushReceipts(ctx))
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal has shown "([^"]*)"$`, Example: `Then the terminal has shown "SCANNER FAULT - KEY ITEMS"`,
			Help: "Any display text of the scenario so far contains the text (case-insensitive), even if the screen moved on.",
			Fn: func(ctx context.Context, text string) error {
				w := world(ctx)
				if _, ok := w.shownAt(text, 0); !ok {
					return fmt.Errorf("the terminal never showed %q; it showed:\n  %s", text, strings.Join(w.displays(), "\n  "))
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal has not shown "([^"]*)"$`, Example: `Then the terminal has not shown "ENTER PIN"`,
			Fn: func(ctx context.Context, text string) error {
				w := world(ctx)
				if _, ok := w.shownAt(text, 0); ok {
					return fmt.Errorf("the terminal showed %q; it showed:\n  %s", text, strings.Join(w.displays(), "\n  "))
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal showed "([^"]*)" at least (` + durationRe + `) after "([^"]*)"$`,
			Example: `Then the terminal showed "PIN TIMEOUT" at least 60s after "ENTER PIN"`,
			Help:    "Time on the lab's clock between two display texts (virtual under go test, scaled in real-time runs).",
			Fn: func(ctx context.Context, later, d, earlier string) error {
				w := world(ctx)
				want, err := parseDuration(d)
				if err != nil {
					return err
				}
				t0, ok := w.shownAt(earlier, 0)
				if !ok {
					return fmt.Errorf("the terminal never showed %q; it showed:\n  %s", earlier, strings.Join(w.displays(), "\n  "))
				}
				t1, ok := w.shownAt(later, t0)
				if !ok {
					return fmt.Errorf("the terminal never showed %q after %q; it showed:\n  %s", later, earlier, strings.Join(w.displays(), "\n  "))
				}
				if t1-t0 < w.D(want) {
					return fmt.Errorf("%q came %v after %q; want at least %v", later, t1-t0, earlier, w.D(want))
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal raised an alert "([^"]*)"$`, Example: `Then the terminal raised an alert "amount mismatch"`,
			Help: "An alert of the terminal (reversal queued, amount mismatch, printer not ready, scanner failed) contains the text.",
			Fn: func(ctx context.Context, text string) error {
				w := world(ctx)
				var all []string
				for _, e := range w.events("alert") {
					if strings.Contains(strings.ToLower(e.Text), strings.ToLower(text)) {
						return nil
					}
					all = append(all, e.Text)
				}
				return fmt.Errorf("no alert mentions %q; alerts: %q", text, all)
			}},
		{Domain: "terminal", Pattern: `^the terminal raised no alert$`, Example: "Then the terminal raised no alert",
			Fn: func(ctx context.Context) error {
				var all []string
				for _, e := range world(ctx).events("alert") {
					all = append(all, e.Text)
				}
				return diff("alerts", []string(nil), all)
			}},
		{Domain: "terminal", Pattern: `^the last operation failed with "([^"]*)"$`, Example: `Then the last operation failed with "reversal pending"`,
			Help: "The error of the last terminal operation (sale, sign-on, print) contains the text; for operations refused before a transaction existed.",
			Fn: func(ctx context.Context, text string) error {
				err, _ := world(ctx).Get(keyErr).(error)
				if err == nil {
					return fmt.Errorf("the last operation succeeded; want it to fail with %q", text)
				}
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(text)) {
					return fmt.Errorf("the last operation failed with %q; want it to mention %q", err, text)
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the last operation succeeded$`, Example: "Then the last operation succeeded",
			Fn: func(ctx context.Context) error {
				if err, _ := world(ctx).Get(keyErr).(error); err != nil {
					return fmt.Errorf("the last operation failed: %w", err)
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the transaction was paid by (PIN|signature|no cardholder verification)$`,
			Example: "Then the transaction was paid by signature",
			Fn: func(ctx context.Context, cvm string) error {
				t, err := world(ctx).lastTxn()
				if err != nil {
					return err
				}
				want := map[string]string{"PIN": "pin", "signature": "signature", "no cardholder verification": "none"}[cvm]
				return diff("cardholder verification", want, t.CVM)
			}},
		{Domain: "terminal", Pattern: `^the terminal's log shows the last transaction as (approved|declined|reversed|voided|failed) for (\S+)$`,
			Example: "Then the terminal's log shows the last transaction as approved for 22.00",
			Help:    "Looks the last transaction up in the terminal's log by its STAN, as the merchant does from the terminal's menu.",
			Fn: func(ctx context.Context, status, amount string) error {
				w := world(ctx)
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				t, err := w.lastTxn()
				if err != nil {
					return err
				}
				got, ok := w.Lab.Terminal.Query(t.STAN)
				if !ok {
					return fmt.Errorf("the terminal's log has no transaction with STAN %s", t.STAN)
				}
				amt := got.Amount
				if got.Status != terminal.StatusApproved && got.Status != terminal.StatusVoided {
					amt = got.Requested
				}
				return diff("logged transaction "+t.STAN, status+" "+money.Format(a), string(got.Status)+" "+money.Format(amt))
			}},
		{Domain: "terminal", Pattern: `^the terminal's log holds these transactions:$`,
			Example: "Then the terminal's log holds these transactions:\n  | kind | amount | status   |\n  | sale | 100.00 | voided   |\n  | void | 100.00 | approved |",
			Help:    "The whole log, oldest first; columns kind, amount (requested), status, entry, cvm, response (any subset).",
			Fn: func(ctx context.Context, table *godog.Table) error {
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				log := world(ctx).Lab.Terminal.Log()
				var got []map[string]string
				for i, x := range log {
					m := map[string]string{}
					if i < len(rows) {
						for col := range rows[i] {
							switch col {
							case "kind":
								m[col] = string(x.Kind)
							case "amount":
								m[col] = money.Format(x.Requested)
							case "status":
								m[col] = string(x.Status)
							case "entry":
								m[col] = x.Entry
							case "cvm":
								m[col] = x.CVM
							case "response":
								m[col] = x.ResponseCode
							default:
								return oneOf("log column", col, []string{"kind", "amount", "status", "entry", "cvm", "response"})
							}
						}
					}
					got = append(got, m)
				}
				var want []map[string]string
				for _, r := range rows {
					m := map[string]string{}
					for k, v := range r {
						if k == "amount" {
							a, err := parseAmount(v)
							if err != nil {
								return err
							}
							v = money.Format(a)
						}
						m[k] = v
					}
					want = append(want, m)
				}
				return diff("the terminal's log", want, got)
			}},
		{Domain: "terminal", Pattern: `^the last reversal is owed for the last transaction with reason "([^"]*)"$`,
			Example: `Then the last reversal is owed for the last transaction with reason "no response from host"`,
			Help:    "The pending reversal names the last transaction (its STAN) and says why.",
			Fn: func(ctx context.Context, reason string) error {
				w := world(ctx)
				t, err := w.lastTxn()
				if err != nil {
					return err
				}
				rs := w.Lab.Terminal.PendingReversals()
				if len(rs) == 0 {
					return errors.New("no reversal is pending")
				}
				r := rs[len(rs)-1]
				return diff("pending reversal", [2]string{t.STAN, reason}, [2]string{r.OrigSTAN, r.Reason})
			}},
	}
}
