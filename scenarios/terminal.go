package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/terminal"
)

func init() { domains = append(domains, terminalSteps) }

// Keys of World values the terminal steps share with the other domains.
const (
	keyAmount = "amount"   // int64: the keyed amount
	keyItems  = "items"    // []terminal.Item: the keyed basket
	keyScans  = "scans"    // int: codes scanned for the next sale
	keyTxn    = "txn"      // *terminal.Txn: the last transaction
	keyErr    = "txnErr"   // error of the last transaction
	keySettle = "settle"   // terminal.SettleResult
	keySelf   = "selftest" // terminal.SelfTest
)

// lastTxn returns the last transaction, or an error saying none ran.
func (w *World) lastTxn() (*terminal.Txn, error) {
	t, _ := w.Get(keyTxn).(*terminal.Txn)
	if t == nil {
		if err, _ := w.Get(keyErr).(error); err != nil {
			return nil, fmt.Errorf("the last transaction did not run: %v", err)
		}
		return nil, errors.New("no transaction has run yet in this scenario")
	}
	return t, nil
}

// recordTxn keeps a transaction's outcome for the Then steps. A decline is
// an outcome, not a step failure: the Then steps check it.
func (w *World) recordTxn(t *terminal.Txn, err error) error {
	w.Set(keyTxn, t)
	w.Set(keyErr, err)
	w.Set(keyScans, 0)
	w.Set(keyItems, nil)
	w.Set(keyAmount, int64(0))
	if t == nil && err != nil {
		var de *terminal.DeclineError
		if errors.As(err, &de) {
			return nil
		}
		// No transaction at all (not signed on, link down before sending):
		// also an outcome the scenario may expect; Then steps see keyErr.
	}
	return nil
}

// saleRequest builds the request from what the cashier did so far.
func (w *World) saleRequest(method terminal.Method) terminal.SaleRequest {
	req := terminal.SaleRequest{Method: method}
	if n, _ := w.Get(keyScans).(int); n > 0 {
		req.Scan, req.ScanCount = true, n
	}
	if items, _ := w.Get(keyItems).([]terminal.Item); len(items) > 0 {
		req.Items = items
	}
	if a, _ := w.Get(keyAmount).(int64); a > 0 {
		req.Amount = a
	}
	return req
}

var methods = map[string]terminal.Method{
	"credit card": terminal.Credit, "debit card": terminal.Debit, "card": terminal.Credit,
	"credit": terminal.Credit, "debit": terminal.Debit,
}

func terminalSteps() []Step {
	return []Step{
		{Domain: "terminal", Pattern: `^the terminal is powered on$`, Example: "Given the terminal is powered on",
			Help: "Runs the power-on self test; fails if any check fails.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				st, err := w.Lab.Terminal.PowerOn(ctx)
				w.Set(keySelf, st)
				return err
			}},
		{Domain: "terminal", Pattern: `^the terminal is powered on and signed on$`, Example: "Given the terminal is powered on and signed on",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if _, err := w.Lab.Terminal.PowerOn(ctx); err != nil {
					return err
				}
				return w.Lab.Terminal.SignOn(ctx)
			}},
		{Domain: "terminal", Pattern: `^the terminal powers on$`, Example: "When the terminal powers on",
			Help: "Runs the self test and keeps its result, even a failure, for the Then steps.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				st, err := w.Lab.Terminal.PowerOn(ctx)
				w.Set(keySelf, st)
				w.Set(keyErr, err)
				return nil
			}},
		{Domain: "terminal", Pattern: `^the self test reports (host|printer|cardreader|pinpad|scanner) as (ok|failed)(?: with "([^"]*)")?$`,
			Example: `Then the self test reports printer as failed with "paper"`,
			Fn: func(ctx context.Context, part, want, detail string) error {
				st, _ := world(ctx).Get(keySelf).(terminal.SelfTest)
				for _, c := range st.Checks {
					if c.Name != part {
						continue
					}
					if got := map[bool]string{true: "ok", false: "failed"}[c.OK]; got != want {
						return fmt.Errorf("self test: %s is %s (%s); want %s", part, got, c.Detail, want)
					}
					if detail != "" && !strings.Contains(strings.ToLower(c.Detail), strings.ToLower(detail)) {
						return fmt.Errorf("self test: %s says %q; want it to mention %q", part, c.Detail, detail)
					}
					return nil
				}
				return fmt.Errorf("the self test has no check named %s (did the terminal power on?)", part)
			}},
		{Domain: "terminal", Pattern: `^the terminal signs on$`, Example: "When the terminal signs on",
			Help: "Sends the 0800 sign-on and loads the session PIN key; the outcome is kept for Then steps.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				w.Set(keyErr, w.Lab.Terminal.SignOn(ctx))
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal is signed on$`, Example: "Then the terminal is signed on",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if !w.Lab.Terminal.SignedOn() {
					return fmt.Errorf("the terminal is not signed on; last error: %v; display %q", w.Get(keyErr), w.Lab.Terminal.Display())
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal is not signed on$`, Example: "Then the terminal is not signed on",
			Fn: func(ctx context.Context) error {
				if world(ctx).Lab.Terminal.SignedOn() {
					return errors.New("the terminal is signed on")
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the cashier keys in an amount of (\S+)$`, Example: "When the cashier keys in an amount of 12.34",
			Fn: func(ctx context.Context, amount string) error {
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				world(ctx).Set(keyAmount, a)
				return nil
			}},
		{Domain: "terminal", Pattern: `^the cashier keys in these items:$`,
			Example: "When the cashier keys in these items:\n  | product   | qty |\n  | green tea | 2   |\n  | bread     | 1   |",
			Help:    "Keyed entry of products of the profile, by name or barcode.",
			Fn: func(ctx context.Context, table *godog.Table) error {
				w := world(ctx)
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				var items []terminal.Item
				for _, r := range rows {
					p, err := w.Profile.Product(r["product"])
					if err != nil {
						return err
					}
					qty := 1
					if q := r["qty"]; q != "" {
						if qty, err = strconv.Atoi(q); err != nil || qty < 1 {
							return fmt.Errorf("bad qty %q for %s: give a whole number from 1", q, p.Name)
						}
					}
					items = append(items, terminal.Item{Code: p.Barcode, Name: p.Name, NameZH: p.NameZH, Qty: qty, Price: int64(p.Price)})
				}
				w.Set(keyItems, items)
				return nil
			}},
		{Domain: "terminal", Pattern: `^the cashier (takes|tries to take) payment by (credit card|debit card|card)$`,
			Example: "When the cashier takes payment by credit card",
			Help:    "Runs the sale with the keyed amount, keyed items or scanned basket; stage the card and PIN first.",
			Fn: func(ctx context.Context, _ string, method string) error {
				w := world(ctx)
				t, err := w.Lab.Terminal.Sale(ctx, w.saleRequest(methods[method]))
				return w.recordTxn(t, err)
			}},
		{Domain: "terminal", Pattern: `^the customer pays (\S+) by (credit card|debit card) "([^"]*)" by (chip|tap|swipe)(?: with PIN "(\d+)")?$`,
			Example: `When the customer pays 100.00 by credit card "visa-credit" by chip with PIN "1234"`,
			Help:    "The whole sale in one step: amount keyed, card presented, PIN typed (if given), sale run.",
			Fn: func(ctx context.Context, amount, method, alias, entry, pin string) error {
				w := world(ctx)
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				if err := w.present(ctx, alias, entry); err != nil {
					return err
				}
				if pin != "" {
					if err := w.act(ctx, "pinpad", "type", pin); err != nil {
						return err
					}
				}
				w.Set(keyAmount, a)
				t, err := w.Lab.Terminal.Sale(ctx, w.saleRequest(methods[method]))
				return w.recordTxn(t, err)
			}},
		{Domain: "terminal", Pattern: `^the customer pays (\S+) with QR payment code "([^"]*)"$`,
			Example: `When the customer pays 88.00 with QR payment code "281234567890123456"`,
			Fn: func(ctx context.Context, amount, code string) error {
				w := world(ctx)
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				t, err := w.Lab.Terminal.QR(ctx, terminal.SaleRequest{Amount: a, Method: terminal.QR, PaymentCode: code})
				return w.recordTxn(t, err)
			}},
		{Domain: "terminal", Pattern: `^the transaction is (approved|declined|reversed|voided|failed)$`,
			Example: "Then the transaction is approved",
			Fn: func(ctx context.Context, want string) error {
				t, err := world(ctx).lastTxn()
				if err != nil {
					return err
				}
				if string(t.Status) != want {
					return fmt.Errorf("the transaction is %s (%s %s %s); want %s", t.Status, t.ResponseCode, t.ResponseText, t.Reason, want)
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the transaction is declined with response code "(\d\d)"$`,
			Example: `Then the transaction is declined with response code "51"`,
			Fn: func(ctx context.Context, code string) error {
				t, err := world(ctx).lastTxn()
				if err != nil {
					return err
				}
				return diff("status and response code", [2]string{"declined", code}, [2]string{string(t.Status), t.ResponseCode})
			}},
		{Domain: "terminal", Pattern: `^the response code is "(\d\d)"$`, Example: `Then the response code is "00"`,
			Fn: func(ctx context.Context, code string) error {
				t, err := world(ctx).lastTxn()
				if err != nil {
					return err
				}
				return diff("response code", code, t.ResponseCode)
			}},
		{Domain: "terminal", Pattern: `^the approved amount is (\S+)$`, Example: "Then the approved amount is 12.34",
			Fn: func(ctx context.Context, amount string) error {
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				t, err := world(ctx).lastTxn()
				if err != nil {
					return err
				}
				return diff("approved amount", money.Format(a), money.Format(t.Amount))
			}},
		{Domain: "terminal", Pattern: `^the card was read by (chip|tap|swipe|fallback|qr|manual)$`, Example: "Then the card was read by fallback",
			Fn: func(ctx context.Context, entry string) error {
				t, err := world(ctx).lastTxn()
				if err != nil {
					return err
				}
				return diff("entry", entry, t.Entry)
			}},
		{Domain: "terminal", Pattern: `^the transaction settles (D0|T1)$`, Example: "Then the transaction settles D0",
			Help: "What the host said about settlement in its answer (real-time D0 or next day T1).",
			Fn: func(ctx context.Context, want string) error {
				t, err := world(ctx).lastTxn()
				if err != nil {
					return err
				}
				return diff("settlement", want, t.Settlement)
			}},
		{Domain: "terminal", Pattern: `^the terminal shows "([^"]*)"$`, Example: `Then the terminal shows "APPROVED"`,
			Help: "The display contains the text (case-insensitive).",
			Fn: func(ctx context.Context, text string) error {
				d := world(ctx).Lab.Terminal.Display()
				if !strings.Contains(strings.ToUpper(d), strings.ToUpper(text)) {
					return fmt.Errorf("the display shows %q; want it to contain %q", d, text)
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the cashier voids the last sale$`, Example: "When the cashier voids the last sale",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				t, err := w.lastTxn()
				if err != nil {
					return err
				}
				v, err := w.Lab.Terminal.Void(ctx, t.STAN)
				return w.recordTxn(v, err)
			}},
		{Domain: "terminal", Pattern: `^the cashier refunds (\S+) of the last sale$`, Example: "When the cashier refunds 10.00 of the last sale",
			Fn: func(ctx context.Context, amount string) error {
				w := world(ctx)
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				t, err := w.lastTxn()
				if err != nil {
					return err
				}
				r, err := w.Lab.Terminal.Refund(ctx, terminal.RefundRequest{OrigSTAN: t.STAN, Amount: a, Method: t.Method})
				return w.recordTxn(r, err)
			}},
		{Domain: "terminal", Pattern: `^the cashier pre-authorises (\S+) on "([^"]*)" by (chip|tap|swipe)(?: with PIN "(\d+)")?$`,
			Example: `When the cashier pre-authorises 500.00 on "visa-credit" by chip with PIN "1234"`,
			Fn: func(ctx context.Context, amount, alias, entry, pin string) error {
				w := world(ctx)
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				if err := w.present(ctx, alias, entry); err != nil {
					return err
				}
				if pin != "" {
					if err := w.act(ctx, "pinpad", "type", pin); err != nil {
						return err
					}
				}
				t, err := w.Lab.Terminal.PreAuth(ctx, terminal.PreAuthRequest{Amount: a})
				return w.recordTxn(t, err)
			}},
		{Domain: "terminal", Pattern: `^the cashier completes the pre-authorisation for (\S+)$`, Example: "When the cashier completes the pre-authorisation for 420.00",
			Fn: func(ctx context.Context, amount string) error {
				w := world(ctx)
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				t, err := w.lastTxn()
				if err != nil {
					return err
				}
				c, err := w.Lab.Terminal.Completion(ctx, terminal.CompletionRequest{OrigSTAN: t.STAN, Amount: a})
				return w.recordTxn(c, err)
			}},
		{Domain: "terminal", Pattern: `^the cashier settles the batch$`, Example: "When the cashier settles the batch",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				res, err := w.Lab.Terminal.Settle(ctx)
				w.Set(keySettle, res)
				w.Set(keyErr, err)
				return nil
			}},
		{Domain: "terminal", Pattern: `^the batch is (balanced|out of balance)$`, Example: "Then the batch is balanced",
			Fn: func(ctx context.Context, want string) error {
				w := world(ctx)
				res, _ := w.Get(keySettle).(terminal.SettleResult)
				got := map[bool]string{true: "balanced", false: "out of balance"}[res.Balanced]
				if got != want {
					return fmt.Errorf("the batch is %s (response %s, %d uploaded, error %v); want %s", got, res.ResponseCode, res.Uploaded, w.Get(keyErr), want)
				}
				return nil
			}},
		{Domain: "terminal", Pattern: `^the terminal uploaded (\d+) transactions? before closing the batch$`, Example: "Then the terminal uploaded 3 transactions before closing the batch",
			Help: "After a 95 the terminal sends a 0320 per transaction, then a closing 0500.",
			Fn: func(ctx context.Context, n int) error {
				res, _ := world(ctx).Get(keySettle).(terminal.SettleResult)
				return diff("0320 batch uploads", n, res.Uploaded)
			}},
		{Domain: "terminal", Pattern: `^the batch totals are (\d+) sales? for (\S+) and (\d+) refunds? for (\S+)$`,
			Example: "Then the batch totals are 2 sales for 112.34 and 0 refunds for 0.00",
			Fn: func(ctx context.Context, sc int, sa string, rc int, ra string) error {
				res, _ := world(ctx).Get(keySettle).(terminal.SettleResult)
				s, err := parseAmount(sa)
				if err != nil {
					return err
				}
				r, err := parseAmount(ra)
				if err != nil {
					return err
				}
				want := terminal.Totals{SalesCount: int64(sc), SalesAmount: s, RefundsCount: int64(rc), RefundsAmount: r}
				return diff("batch totals", want, res.Totals)
			}},
		{Domain: "terminal", Pattern: `^the cashier reprints the last receipt$`, Example: "When the cashier reprints the last receipt",
			Fn: func(ctx context.Context) error { return world(ctx).Lab.Terminal.Reprint(ctx) }},
		{Domain: "terminal", Pattern: `^the terminal's log holds (\d+) transactions?$`, Example: "Then the terminal's log holds 2 transactions",
			Fn: func(ctx context.Context, n int) error {
				return diff("transactions in the terminal's log", n, len(world(ctx).Lab.Terminal.Log()))
			}},
		{Domain: "terminal", Pattern: `^(\d+) reversals? (?:is|are) pending$`, Example: "Then 1 reversal is pending",
			Fn: func(ctx context.Context, n int) error {
				return diff("pending reversals", n, len(world(ctx).Lab.Terminal.PendingReversals()))
			}},
		{Domain: "terminal", Pattern: `^the terminal sent these messages:$`,
			Example: "Then the terminal sent these messages:\n  | mti  | 3      | 39 |\n  | 0200 | 000000 |    |\n  | 0210 | 000000 | 00 |",
			Help:    "The last messages of the ladder, terminal side, in order (as many as the table has rows); columns are field numbers (mti for the MTI); empty cells are not compared.",
			Fn: func(ctx context.Context, table *godog.Table) error {
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				ladder := world(ctx).Lab.Recorder.Ladder()
				if len(ladder) < len(rows) {
					return fmt.Errorf("the terminal sent and received %d messages; the table has %d rows", len(ladder), len(rows))
				}
				ladder = ladder[len(ladder)-len(rows):]
				var got []map[string]string
				for i, e := range ladder {
					m := map[string]string{}
					for col, v := range rows[i] {
						if v == "" {
							continue
						}
						if col == "mti" {
							m[col] = e.MTI
						} else {
							m[col] = e.Fields[col]
						}
					}
					got = append(got, m)
				}
				var want []map[string]string
				for _, r := range rows {
					m := map[string]string{}
					for col, v := range r {
						if v != "" {
							m[col] = v
						}
					}
					want = append(want, m)
				}
				return diff("messages", want, got)
			}},
	}
}

// present puts the card in front of the reader the way the customer says.
func (w *World) present(ctx context.Context, alias, entry string) error {
	how, ok := map[string]string{"chip": "inserts", "tap": "taps", "swipe": "swipes"}[entry]
	if !ok {
		if _, err := w.card(alias); err != nil {
			return err
		}
		return oneOf("card entry", entry, []string{"chip", "tap", "swipe"})
	}
	return w.presentCard(ctx, how, alias)
}
