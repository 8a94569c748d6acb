package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/virtualdevices/printer"
)

func init() { domains = append(domains, deviceSteps) }

// Keys of World values the device steps keep.
const (
	keyReactions = "reactions" // *reactions: operator actions waiting for a prompt
	keyGarble    = "garble"    // bool: the next scan is garbled and does not count
)

// act does one operator action on the devices: the lab's own, or those of
// a separate possim devices through its control API (possim run --devices
// DIR --control ADDR). device and action are named as in the control API.
func (w *World) act(ctx context.Context, device, action, arg string) error {
	return w.Lab.Devices.Act(ctx, device, action, arg)
}

// reactions are operator actions that wait for the terminal to ask for
// them: the customer inserting the chip card after the terminal refused a
// swipe, swiping again after a bad swipe. The terminal asks while a sale
// runs inside one step, so the action cannot be a step of its own; it runs
// on the terminal's goroutine the moment the prompt is shown, as a quick
// cashier would, which keeps the run deterministic.
type reactions struct {
	rec     *harness.Recorder
	mu      sync.Mutex
	pending []reaction
}

type reaction struct {
	what  string
	match func(harness.Event) bool
	do    func() error
}

// react arranges for do to run at the first event that matches.
func (w *World) react(what string, match func(harness.Event) bool, do func() error) {
	rs, _ := w.Get(keyReactions).(*reactions)
	if rs == nil {
		rs = &reactions{rec: w.Lab.Recorder}
		w.Set(keyReactions, rs)
		w.Lab.Recorder.Watch(rs.fire)
	}
	rs.mu.Lock()
	rs.pending = append(rs.pending, reaction{what: what, match: match, do: do})
	rs.mu.Unlock()
}

func (rs *reactions) fire(e harness.Event) {
	rs.mu.Lock()
	var hit *reaction
	for i, r := range rs.pending {
		if r.match(e) {
			hit = &r
			rs.pending = append(rs.pending[:i:i], rs.pending[i+1:]...)
			break
		}
	}
	rs.mu.Unlock()
	if hit == nil {
		return
	}
	kind, text := "operator", hit.what
	if err := hit.do(); err != nil {
		kind, text = "error", hit.what+": "+err.Error()
	}
	rs.rec.Add(harness.Event{Source: "scenario", Kind: kind, Text: text})
}

// reprompt matches the terminal asking for the card again: "CHIP CARD -
// PLEASE INSERT CARD", "CHIP READ ERROR - SWIPE CARD", "SWIPE ERROR - SWIPE
// AGAIN" (and not the first prompt, "CNY 10.00  INSERT, TAP OR SWIPE CARD").
func reprompt(e harness.Event) bool {
	if e.Source != "terminal" || e.Kind != "display" || !strings.Contains(e.Text, " - ") {
		return false
	}
	return strings.Contains(e.Text, "INSERT CARD") || strings.Contains(e.Text, "SWIPE CARD") || strings.Contains(e.Text, "SWIPE AGAIN")
}

// presentCard is the customer presenting a card; an inserted card left in
// the slot by the last sale is taken out first, as a customer does.
func (w *World) presentCard(ctx context.Context, how, alias string) error {
	if _, err := w.card(alias); err != nil {
		return err
	}
	switch how {
	case "inserts":
		if err := w.act(ctx, "cardreader", "remove", ""); err != nil {
			return err
		}
		return w.act(ctx, "cardreader", "insert", alias)
	case "taps":
		return w.act(ctx, "cardreader", "tap", alias)
	case "swipes":
		return w.act(ctx, "cardreader", "swipe", alias)
	}
	return oneOf("card action", how, []string{"inserts", "taps", "swipes"})
}

// product finds a product by name or barcode; the error lists the products.
func (w *World) product(nameOrCode string) (code string, err error) {
	p, err := w.Profile.Product(nameOrCode)
	if err != nil {
		var names []string
		for _, p := range w.Profile.Products {
			names = append(names, p.Name)
		}
		return "", oneOf("product", nameOrCode, names)
	}
	return p.Barcode, nil
}

// scan is the cashier scanning code; a product counts towards the basket
// unless the scanner was told to garble it (then the terminal asks again),
// and so does no other code (the terminal shows it as unknown).
func (w *World) scan(ctx context.Context, code string, product bool) error {
	if err := w.act(ctx, "scanner", "scan", code); err != nil {
		return err
	}
	if g, _ := w.Get(keyGarble).(bool); g || !product {
		w.Set(keyGarble, false)
		return nil
	}
	n, _ := w.Get(keyScans).(int)
	w.Set(keyScans, n+1)
	return nil
}

// receiptCopies names the heading of each copy, in both receipt languages.
var receiptCopies = map[string][]string{
	"merchant copy": {"MERCHANT COPY", "商户存根"},
	"customer copy": {"CUSTOMER COPY", "持卡人存根"},
	"reprint":       {"REPRINT", "重打印"},
	"last receipt":  nil,
}

// receipt finds the latest receipt of a copy ("last receipt" for any).
func (w *World) receipt(ctx context.Context, which string) (printer.Receipt, error) {
	heads, ok := receiptCopies[which]
	if !ok {
		return printer.Receipt{}, oneOf("receipt", which, []string{"last receipt", "merchant copy", "customer copy", "reprint"})
	}
	rs, err := w.Lab.Devices.Receipts(ctx)
	if err != nil {
		return printer.Receipt{}, err
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if heads == nil {
			return rs[i], nil
		}
		for _, h := range heads {
			if strings.Contains(rs[i].Text, h) {
				return rs[i], nil
			}
		}
	}
	if len(rs) == 0 && w.Lab.Terminal == nil {
		return printer.Receipt{}, errors.New("no receipt was printed")
	}
	if len(rs) == 0 {
		return printer.Receipt{}, fmt.Errorf("no receipt was printed (%d queued at the terminal)", w.Lab.Terminal.QueuedReceipts())
	}
	return printer.Receipt{}, fmt.Errorf("none of the %d receipts printed is a %s", len(rs), which)
}

// expand replaces {stan}, {rrn}, {auth}, {pan}, {batch} and {time} with the
// last transaction's values, so a receipt check compares with what really
// ran. {time} is its time of day: in real time (possim run) a sale takes
// a moment of the lab's clock, so the date is written out and the time is
// the transaction's own.
func (w *World) expand(s string) (string, error) {
	if !strings.Contains(s, "{") {
		return s, nil
	}
	t, err := w.lastTxn()
	if err != nil {
		return "", fmt.Errorf("%q refers to the last transaction: %w", s, err)
	}
	r := strings.NewReplacer("{stan}", t.STAN, "{rrn}", t.RRN, "{auth}", t.AuthCode, "{pan}", t.MaskedPAN,
		"{batch}", fmt.Sprintf("%06d", t.Batch), "{time}", t.Time.Format("15:04:05"))
	return r.Replace(s), nil
}

// printerStatus is the printer's state in the words the steps use.
func printerStatus(st printer.Status) string {
	if r := st.Reason(); r != "" {
		return r
	}
	if st.PaperNearEnd {
		return "paper near end"
	}
	return "ready"
}

// lookTimeout is how long the customer watches the PIN pad or the printer
// for what a step expects. It is not scaled: the POS software may be
// outside possim run and take real time, and a look that succeeds ends at
// once.
const lookTimeout = 30 * time.Second

// waitFor polls look until it reports done, ctx ends or lookTimeout
// passes; seen is what the last look saw, for the error.
func waitFor(ctx context.Context, what string, look func() (done bool, seen string, err error)) error {
	deadline := time.Now().Add(lookTimeout)
	for {
		done, seen, err := look()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s; last seen: %s", what, lookTimeout, seen)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// needsTerminal are the device steps that watch or ask the lab's own
// terminal; every other device step works with the POS outside.
var needsTerminal = map[string]bool{
	`^the customer (inserts|taps|swipes) (?:the )?card "([^"]*)" when the terminal asks again$`: true,
	`^(no|\d+) receipts? (?:is|are) queued$`:                                                    true,
	`^the terminal prints receipts in Chinese$`:                                                 true,
}

func deviceSteps() []Step {
	steps := deviceStepList()
	for i := range steps {
		steps[i].Outside = !needsTerminal[steps[i].Pattern]
	}
	return steps
}

func deviceStepList() []Step {
	// dev is a step that is one operator action and nothing else.
	dev := func(device, action string) func(ctx context.Context) error {
		return func(ctx context.Context) error { return world(ctx).act(ctx, device, action, "") }
	}
	return []Step{
		// The card reader.
		{Domain: "devices", Pattern: `^the customer (inserts|taps|swipes) (?:the )?card "([^"]*)"$`,
			Example: `When the customer inserts card "visa-credit"`,
			Help:    "Held for the terminal's next card prompt. A card still in the slot from an earlier sale is taken out first.",
			Fn: func(ctx context.Context, how, alias string) error {
				return world(ctx).presentCard(ctx, how, alias)
			}},
		{Domain: "devices", Pattern: `^the customer (inserts|taps|swipes) (?:the )?card "([^"]*)" when the terminal asks again$`,
			Example: `And the customer inserts card "visa-credit" when the terminal asks again`,
			Help:    "Done the moment the terminal asks for the card again (swiped chip card: insert; bad swipe: swipe again).",
			Fn: func(ctx context.Context, how, alias string) error {
				w := world(ctx)
				if _, err := w.card(alias); err != nil {
					return err
				}
				// The reaction runs after this step has returned.
				rctx := context.WithoutCancel(ctx)
				w.react(fmt.Sprintf("customer %s %s when asked again", how, alias), reprompt, func() error {
					return w.presentCard(rctx, how, alias)
				})
				return nil
			}},
		{Domain: "devices", Pattern: `^the customer takes the card out$`, Example: "When the customer takes the card out",
			Fn: dev("cardreader", "remove")},
		{Domain: "devices", Pattern: `^the customer enters PIN "([^"]*)"$`, Example: `And the customer enters PIN "1234"`,
			Help: "Typed ahead on the PIN pad: held for the next PIN prompt. A wrong PIN is the cardholder's choice.",
			Fn: func(ctx context.Context, pin string) error {
				return world(ctx).act(ctx, "pinpad", "type", pin)
			}},
		{Domain: "devices", Pattern: `^the customer presses cancel on the PIN pad$`, Example: "And the customer presses cancel on the PIN pad",
			Help: "Held for the next PIN prompt, which it cancels.",
			Fn:   dev("pinpad", "cancel")},
		{Domain: "devices", Pattern: `^the (?:chip of the next card cannot be read|next chip read fails)$`,
			Example: "Given the chip of the next card cannot be read",
			Help:    "The next chip read fails; the terminal falls back to the stripe (field 22 = 80x).",
			Fn:      dev("cardreader", "chip-error")},
		{Domain: "devices", Pattern: `^the next swipe is unreadable$`, Example: "Given the next swipe is unreadable",
			Fn: dev("cardreader", "bad-swipe")},
		{Domain: "devices", Pattern: `^the customer (?:pulls|will pull) the card out early$`, Example: "Given the customer pulls the card out early",
			Help: "The chip card leaves the slot right after it is read, before the host's answer reaches it.",
			Fn:   dev("cardreader", "pull-early")},
		{Domain: "devices", Pattern: `^the card reader is unplugged$`, Example: "Given the card reader is unplugged",
			Fn: dev("cardreader", "unplug")},
		{Domain: "devices", Pattern: `^the card reader is plugged back in$`, Example: "When the card reader is plugged back in",
			Fn: dev("cardreader", "plug")},

		// The PIN pad.
		{Domain: "devices", Pattern: `^the PIN pad breaks$`, Example: "Given the PIN pad breaks",
			Help: "The pad stops answering, as if its cable were pulled.",
			Fn:   dev("pinpad", "break")},
		{Domain: "devices", Pattern: `^the PIN pad is fixed$`, Example: "When the PIN pad is fixed",
			Fn: dev("pinpad", "fix")},
		{Domain: "devices", Pattern: `^the PIN pad shows "([^"]*)"$`, Example: `Then the PIN pad shows "ENTER PIN"`,
			Help: "Waits up to 30 s for the pad's screen to show the text, as a customer waits for the prompt (for POS software outside possim run).",
			Fn: func(ctx context.Context, text string) error {
				w := world(ctx)
				return waitFor(ctx, fmt.Sprintf("the PIN pad showing %q", text), func() (bool, string, error) {
					d, err := w.Lab.Devices.PINPadDisplay(ctx)
					return strings.Contains(d, text), fmt.Sprintf("%q", d), err
				})
			}},

		// The scanner.
		{Domain: "devices", Pattern: `^the cashier scans "([^"]*)"$`, Example: `When the cashier scans "green tea"`,
			Help: "A product of the profile by name or barcode, or any other code as it is (an unknown item).",
			Fn: func(ctx context.Context, what string) error {
				w := world(ctx)
				code, err := w.product(what)
				if err != nil {
					if strings.Trim(what, "0123456789") != "" {
						return err
					}
					return w.scan(ctx, what, false) // digits that are no product: scanned as they are
				}
				return w.scan(ctx, code, true)
			}},
		{Domain: "devices", Pattern: `^the cashier scans these products:$`,
			Example: "When the cashier scans these products:\n  | product   | qty |\n  | green tea | 2   |\n  | rice 5 kg | 1   |",
			Help:    "Each product is scanned qty times (default 1); the next sale takes the scanned basket.",
			Fn: func(ctx context.Context, table *godog.Table) error {
				w := world(ctx)
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				for _, r := range rows {
					code, err := w.product(r["product"])
					if err != nil {
						return err
					}
					qty := 1
					if q := r["qty"]; q != "" {
						if qty, err = strconv.Atoi(q); err != nil || qty < 1 {
							return fmt.Errorf("bad qty %q for %s: give a whole number from 1", q, r["product"])
						}
					}
					for range qty {
						if err := w.scan(ctx, code, true); err != nil {
							return err
						}
					}
				}
				return nil
			}},
		{Domain: "devices", Pattern: `^the cashier scans the customer's payment code "([^"]*)"$`,
			Example: `When the cashier scans the customer's payment code "281234567890123456"`,
			Help:    "Queued on the scanner for the terminal's QR prompt (the cashier takes payment by QR code).",
			Fn: func(ctx context.Context, code string) error {
				return world(ctx).act(ctx, "scanner", "scan", code)
			}},
		{Domain: "devices", Pattern: `^the scanner breaks$`, Example: "Given the scanner breaks",
			Help: "Scans are lost and the scanner stops answering: the terminal falls back to keyed entry.",
			Fn:   dev("scanner", "break")},
		{Domain: "devices", Pattern: `^the scanner garbles the next read$`, Example: "Given the scanner garbles the next read",
			Help: "The next scan arrives corrupted and the terminal asks to scan again; it does not count.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if err := w.act(ctx, "scanner", "garble", ""); err != nil {
					return err
				}
				w.Set(keyGarble, true)
				return nil
			}},
		{Domain: "devices", Pattern: `^the scanner is fixed$`, Example: "When the scanner is fixed",
			Fn: dev("scanner", "fix")},

		// The printer.
		{Domain: "devices", Pattern: `^the printer runs out of paper$`, Example: "Given the printer runs out of paper",
			Fn: dev("printer", "paper-out")},
		{Domain: "devices", Pattern: `^the printer's paper is nearly out$`, Example: "Given the printer's paper is nearly out",
			Help: "The near-end sensor: the printer still prints.",
			Fn:   dev("printer", "near-end")},
		{Domain: "devices", Pattern: `^(?:the cashier loads paper|paper is loaded) into the printer$`, Example: "When the cashier loads paper into the printer",
			Help: "The terminal notices within its printer poll (1 s) and prints the receipts it queued.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if err := w.act(ctx, "printer", "load-paper", ""); err != nil {
					return err
				}
				// Give the terminal one printer poll to notice, as a cashier
				// waits for the printer to start again.
				time.Sleep(w.D(1500 * time.Millisecond))
				return nil
			}},
		{Domain: "devices", Pattern: `^the printer cover is (opened|closed)$`, Example: "Given the printer cover is opened",
			Fn: func(ctx context.Context, how string) error {
				if how == "opened" {
					return world(ctx).act(ctx, "printer", "open-cover", "")
				}
				return world(ctx).act(ctx, "printer", "close-cover", "")
			}},
		{Domain: "devices", Pattern: `^the printer goes offline$`, Example: "Given the printer goes offline",
			Help: "A printer error: offline until fixed, still answering status.",
			Fn:   dev("printer", "break")},
		{Domain: "devices", Pattern: `^the printer is fixed$`, Example: "When the printer is fixed",
			Fn: dev("printer", "fix")},
		{Domain: "devices", Pattern: `^the printer answers status "([^"]*)"$`, Example: `Then the printer answers status "paper out"`,
			Help: "What the printer says to DLE EOT: ready, paper near end, paper out, cover open, printer error, offline.",
			Fn: func(ctx context.Context, want string) error {
				w := world(ctx)
				valid := []string{"ready", "paper near end", "paper out", "cover open", "printer error", "offline"}
				found := false
				for _, v := range valid {
					found = found || v == want
				}
				if !found {
					return oneOf("printer status", want, valid)
				}
				st, err := w.Lab.Devices.PrinterStatus(ctx)
				if err != nil {
					return err
				}
				return diff("printer status", want, printerStatus(st))
			}},

		// Receipts.
		{Domain: "devices", Pattern: `^(\d+) receipts? (?:was|were) printed$`, Example: "Then 2 receipts were printed",
			Help: "Counts every receipt the printer cut in this scenario.",
			Fn: func(ctx context.Context, n int) error {
				// Over real ptys the last receipt may still be on its way
				// (a queue printed after a printer poll, on a busy machine):
				// wait for the count for a while before calling it wrong. In
				// virtual time the count is already settled, so this waits
				// only when the check is failing anyway.
				deadline := time.Now().Add(10 * time.Second)
				for {
					rs, err := world(ctx).Lab.Devices.Receipts(ctx)
					if err != nil {
						return err
					}
					if len(rs) == n || !time.Now().Before(deadline) {
						return diff("receipts printed", n, len(rs))
					}
					time.Sleep(20 * time.Millisecond)
				}
			}},
		{Domain: "devices", Pattern: `^(no|\d+) receipts? (?:is|are) queued$`, Example: "Then 2 receipts are queued",
			Help: "Receipts the terminal holds for a printer that is not ready.",
			Fn: func(ctx context.Context, n string) error {
				want := 0
				if n != "no" {
					want, _ = strconv.Atoi(n)
				}
				return diff("receipts queued at the terminal", want, world(ctx).Lab.Terminal.QueuedReceipts())
			}},
		{Domain: "devices", Pattern: `^the (last receipt|merchant copy|customer copy|reprint) (shows|does not show) "([^"]*)"$`,
			Example: `Then the merchant copy shows "CARDHOLDER SIGNATURE"`,
			Help:    "Text on the latest receipt of that copy. {stan}, {rrn}, {auth}, {pan}, {batch} and {time} stand for the last transaction's values.",
			Fn: func(ctx context.Context, which, how, text string) error {
				w := world(ctx)
				r, err := w.receipt(ctx, which)
				if err != nil {
					return err
				}
				if text, err = w.expand(text); err != nil {
					return err
				}
				if has := strings.Contains(r.Text, text); has != (how == "shows") {
					return fmt.Errorf("the %s %s %q:\n%s", which, map[bool]string{true: "shows", false: "does not show"}[has], text, r.Text)
				}
				return nil
			}},
		{Domain: "devices", Pattern: `^the (last receipt|merchant copy|customer copy|reprint) shows these lines:$`,
			Example: "Then the merchant copy shows these lines:\n  | label       | value           |\n  | MERCHANT NO | 123456789012345 |\n  | STAN        | {stan}          |",
			Help:    "Each row is a receipt line \"LABEL:   value\"; {stan}, {rrn}, {auth}, {pan}, {batch}, {time} stand for the last transaction's values.",
			Fn: func(ctx context.Context, which string, table *godog.Table) error {
				w := world(ctx)
				r, err := w.receipt(ctx, which)
				if err != nil {
					return err
				}
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				lines := strings.Split(r.Text, "\n")
				var want, got []string
				for _, row := range rows {
					label := row["label"]
					value, err := w.expand(row["value"])
					if err != nil {
						return err
					}
					want = append(want, label+": "+value)
					line := "(no " + label + " line)"
					for _, l := range lines {
						if strings.HasPrefix(l, label+":") {
							line = label + ": " + strings.TrimSpace(strings.TrimPrefix(l, label+":"))
							break
						}
					}
					got = append(got, line)
				}
				return diff(which+" lines", want, got)
			}},
		{Domain: "devices", Pattern: `^a receipt (?:is|was) printed that shows "([^"]*)"$`,
			Example: `Then a receipt is printed that shows "APPROVED"`,
			Help:    "Waits up to 30 s for a receipt of this scenario that shows the text, as a customer waits at the printer (for POS software outside possim run).",
			Fn: func(ctx context.Context, text string) error {
				w := world(ctx)
				text, err := w.expand(text)
				if err != nil {
					return err
				}
				return waitFor(ctx, fmt.Sprintf("a receipt that shows %q", text), func() (bool, string, error) {
					rs, err := w.Lab.Devices.Receipts(ctx)
					if err != nil {
						return false, "", err
					}
					for _, r := range rs {
						if strings.Contains(r.Text, text) {
							return true, "", nil
						}
					}
					return false, fmt.Sprintf("%d receipts", len(rs)), nil
				})
			}},
		{Domain: "devices", Pattern: `^no receipt shows a full card number$`, Example: "Then no receipt shows a full card number",
			Help: "Checks every printed receipt against every card number of the profile.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				rs, err := w.Lab.Devices.Receipts(ctx)
				if err != nil {
					return err
				}
				if len(rs) == 0 {
					return errors.New("no receipt was printed")
				}
				for _, r := range rs {
					for _, c := range w.Profile.Cards {
						if strings.Contains(r.Text, c.PAN) {
							return fmt.Errorf("receipt %d shows the full card number of %s", r.Seq, c.Alias)
						}
					}
				}
				return nil
			}},
		{Domain: "devices", Pattern: `^the terminal prints receipts in Chinese$`, Example: "Given the terminal prints receipts in Chinese",
			Help: "Switches the profile's locale to zh: the terminal reads it for every receipt and selects the printer's Chinese mode (GB18030).",
			Fn: func(ctx context.Context) error {
				world(ctx).Profile.Locale = "zh"
				return nil
			}},
	}
}

// settle lets the parts' goroutines catch up with an operator action (a
// connection torn down, a link fault): inside a synctest bubble a sleep
// returns only once every other goroutine is blocked, so this is exact
// there, and a short real wait otherwise.
func settle() { time.Sleep(50 * time.Millisecond) }
