package scenarios

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
	"github.com/possim/possim/simulators/terminal"
)

func init() { domains = append(domains, settlementSteps) }

// The settlement steps read and change the possim host's ledger: the
// merchant's real-time settlement application, its account, postings,
// statements and the reconciliation of the terminal's batch with the
// journal.
//
// Account checks are deltas: "the merchant's account is credited X" compares
// the balance with the balance at the previous account check of the
// scenario (a fresh lab starts at 0.00; seeding earlier days' history moves
// the mark), so each check speaks only of what happened since the last one.
//
// Time does not travel: every scenario runs on its business day
// (ScenarioStart, 2026-06-15, a Monday). Monthly and quarterly statements
// get their earlier days from "the host's journal already holds these sales
// of earlier days", which journals them with their own dates through the
// ledger's Record, as the host would have; a statement of any other period
// is asked for by date. The day's cut-off (T+1 credit) runs when a step says
// so, at 23:00 of the business day unless another time is given: sleeping
// into the next day would be free in a synctest bubble but cost hours in a
// real-time `possim run`.

const settlementDomain = "settlement and reconciliation"

// Keys of World values the settlement steps keep.
const (
	keySettleMark        = "settle.balanceMark" // int64: balance at the last account check
	keySettleCutoffs     = "settle.cutoffs"     // int: cut-offs run in the scenario
	keySettleMarkCutoffs = "settle.markCutoffs" // int: cut-offs run before the last account check
	keySettleExtras      = "settle.extras"      // []ledger.Key: entries the host holds that the terminal never sent
	keySettleRecords     = "settle.records"     // []ledger.BatchItem: the merchant's own sales records
	keySettleSeedSTAN    = "settle.histSTAN"    // int: last STAN used for seeded entries
)

// stlCutoffHour is when the day's T+1 cut-off runs unless a step says otherwise.
const stlCutoffHour = 23

// stlRequiredDocs are what an application for real-time settlement needs.
var stlRequiredDocs = []string{"business licence", "identity"}

// stlKnownDocs are every document the application accepts.
var stlKnownDocs = []string{"business licence", "identity", "bank account proof", "shop photo", "tax registration"}

// stlLedger returns the lab's ledger, or an error saying why there is none.
func (w *World) stlLedger() (*ledger.Ledger, error) {
	if w.Lab.Ledger == nil || w.Lab.Host == nil {
		return nil, errors.New("this step reads or changes the possim host's ledger, and this run uses an external host (--host); " +
			"tag the scenario @possim-host and leave it out of external runs (--tags '~@possim-host')")
	}
	return w.Lab.Ledger, nil
}

// merchantID is the merchant the lab's terminal is bound to.
func (w *World) stlMerchant() string { return w.Lab.Terminal.MerchantID() }

// stlNow is the lab's clock as of its latest event: the scenario start plus
// the virtual (or real) time the timeline has covered.
func (w *World) stlNow() time.Time {
	evs := w.Lab.Recorder.Events()
	if len(evs) == 0 {
		return ScenarioStart
	}
	return ScenarioStart.Add(evs[len(evs)-1].At)
}

// stlDay is the first instant of the lab's current day.
func (w *World) stlDay() time.Time {
	y, m, d := w.stlNow().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, ScenarioStart.Location())
}

// note puts what a settlement step did to the host on the lab's timeline.
func (w *World) stlNote(kind, text string) {
	w.Lab.Recorder.Add(harness.Event{Source: "ledger", Kind: kind, Text: text})
}

// stlKey is the journal's key for a transaction of the terminal's log.
func (w *World) stlKey(x terminal.Txn) ledger.Key {
	date := ""
	if len(x.F7) >= 4 {
		date = x.F7[:4]
	}
	return ledger.Key{TID: w.Lab.Terminal.ID(), STAN: x.STAN, Date: date}
}

// stlLastSale is the latest card or QR sale (or completion) of the terminal's log.
func (w *World) stlLastSale() (terminal.Txn, error) {
	log := w.Lab.Terminal.Log()
	for i := len(log) - 1; i >= 0; i-- {
		switch log[i].Kind {
		case terminal.KindSale, terminal.KindQR, terminal.KindCompletion:
			return log[i], nil
		}
	}
	return terminal.Txn{}, errors.New("the terminal's log holds no sale yet")
}

// stlPostings lists the merchant's postings of the business day and the next
// (where a late cut-off lands), oldest first.
func (w *World) stlPostings(ctx context.Context) ([]ledger.Posting, error) {
	led, err := w.stlLedger()
	if err != nil {
		return nil, err
	}
	day := w.stlDay()
	return led.Postings(ctx, w.stlMerchant(), day, day.AddDate(0, 0, 2))
}

// refs names the transactions of the terminal's log ("sale 1", "qr 2",
// "refund 1"; "last sale") and the host's extra entries ("extra 1"), so
// tables can speak of them without STANs.
func (w *World) stlRefs() (byRef map[string]terminal.Txn, names map[ledger.Key]string) {
	byRef = map[string]terminal.Txn{}
	names = map[ledger.Key]string{}
	count := map[terminal.Kind]int{}
	for _, x := range w.Lab.Terminal.Log() {
		count[x.Kind]++
		ref := fmt.Sprintf("%s %d", x.Kind, count[x.Kind])
		byRef[ref] = x
		names[w.stlKey(x)] = ref
	}
	if x, err := w.stlLastSale(); err == nil {
		byRef["last sale"] = x
	}
	extras, _ := w.Get(keySettleExtras).([]ledger.Key)
	for i, k := range extras {
		names[k] = fmt.Sprintf("extra %d", i+1)
	}
	return byRef, names
}

func stlRefNames(byRef map[string]terminal.Txn) []string {
	out := make([]string, 0, len(byRef))
	for r := range byRef {
		out = append(out, r)
	}
	return out
}

// stlBatchItems is the terminal's open batch as the discrepancy report takes
// it: every transaction that reached the host (pre-authorisations move no
// money and are left out, as the host leaves them out).
func (w *World) stlBatchItems() []ledger.BatchItem {
	open := w.Lab.Terminal.Batch()
	var out []ledger.BatchItem
	for _, x := range w.Lab.Terminal.Log() {
		if x.Batch != open {
			continue
		}
		kind, ok := map[terminal.Kind]ledger.Kind{terminal.KindSale: ledger.KindSale, terminal.KindQR: ledger.KindQR,
			terminal.KindCompletion: ledger.KindCompletion, terminal.KindRefund: ledger.KindRefund,
			terminal.KindVoid: ledger.KindVoid}[x.Kind]
		if !ok {
			continue
		}
		it := ledger.BatchItem{Key: w.stlKey(x), Kind: kind, Amount: x.Amount, RespCode: x.ResponseCode}
		if it.Amount == 0 {
			it.Amount = x.Requested
		}
		switch x.Status {
		case terminal.StatusApproved, terminal.StatusVoided:
			it.RespCode = "00"
		case terminal.StatusReversed:
			if strings.Contains(x.Reason, "response") {
				// No answer, or none the terminal could read.
				it.TimedOut = true
			} else {
				// The terminal refused the approval itself (amount, card):
				// field 39 of its reversal.
				it.RespCode = "06"
			}
		case terminal.StatusFailed:
			continue // never reached the host
		}
		out = append(out, it)
	}
	return out
}

// stlMark makes the current balance the reference of the next check.
func (w *World) stlMark(ctx context.Context) error {
	led, err := w.stlLedger()
	if err != nil {
		return err
	}
	b, err := led.Balance(ctx, w.stlMerchant())
	if err != nil {
		return err
	}
	w.Set(keySettleMark, b)
	n, _ := w.Get(keySettleCutoffs).(int)
	w.Set(keySettleMarkCutoffs, n)
	return nil
}

// stlDelta is what the balance moved since the last account check, and
// whether a cut-off ran in between; it moves the mark.
func (w *World) stlDelta(ctx context.Context) (delta int64, cutoff bool, err error) {
	led, err := w.stlLedger()
	if err != nil {
		return 0, false, err
	}
	b, err := led.Balance(ctx, w.stlMerchant())
	if err != nil {
		return 0, false, err
	}
	mark, _ := w.Get(keySettleMark).(int64)
	n, _ := w.Get(keySettleCutoffs).(int)
	m, _ := w.Get(keySettleMarkCutoffs).(int)
	w.Set(keySettleMark, b)
	w.Set(keySettleMarkCutoffs, n)
	return b - mark, n > m, nil
}

// stlUpdateMerchant reads the merchant, lets f change it and saves it.
func (w *World) stlUpdateMerchant(ctx context.Context, what string, f func(m *ledger.Merchant)) error {
	led, err := w.stlLedger()
	if err != nil {
		return err
	}
	m, err := led.Merchant(ctx, w.stlMerchant())
	if err != nil {
		return err
	}
	f(&m)
	if err := led.PutMerchant(ctx, m); err != nil {
		return err
	}
	w.stlNote("merchant", fmt.Sprintf("%s %s: %s", m.ID, m.Name, what))
	return nil
}

// stlSeedSTAN numbers entries the steps journal themselves from 900001, far
// from the terminal's own STANs.
func (w *World) stlSeedSTAN() string {
	n, _ := w.Get(keySettleSeedSTAN).(int)
	n++
	w.Set(keySettleSeedSTAN, n)
	return fmt.Sprintf("%06d", 900000+n)
}

// record journals an entry the way the host does, for the steps that set
// up what the host holds.
func (w *World) stlRecord(ctx context.Context, e ledger.Entry) error {
	led, err := w.stlLedger()
	if err != nil {
		return err
	}
	res, err := led.Record(ctx, e)
	if err != nil {
		return err
	}
	if res.Duplicate {
		return fmt.Errorf("the journal already holds %s (MTI %s)", e.Key, e.MTI)
	}
	return nil
}

var stlStatementFields = []string{"transactions", "gross", "fees", "net", "settled D0", "settled T+1", "pending T+1",
	"refunds", "refunded", "reversals", "reversed", "declined"}

// stlStatementValue is one named figure of a statement, as text.
func stlStatementValue(st ledger.Statement, field string) string {
	switch field {
	case "transactions":
		return strconv.Itoa(st.Count)
	case "gross":
		return money.Format(st.Gross)
	case "fees":
		return money.Format(st.Fees)
	case "net":
		return money.Format(st.Net)
	case "settled D0":
		return money.Format(st.SettledD0)
	case "settled T+1":
		return money.Format(st.SettledT1)
	case "pending T+1":
		return money.Format(st.PendingT1)
	case "refunds":
		return strconv.Itoa(st.RefundCount)
	case "refunded":
		return money.Format(st.Refunds)
	case "reversals":
		return strconv.Itoa(st.ReversalCount)
	case "reversed":
		return money.Format(st.Reversals)
	case "declined":
		return strconv.Itoa(st.DeclinedCount)
	}
	return ""
}

// stlAmount writes an amount cell the way the steps print amounts, so
// "¥1,000.00", "1000" and "1000.00" compare equal; other text is kept.
func stlAmount(s string) string {
	if s == "-" {
		return s
	}
	if v, err := money.Parse(s); err == nil {
		return money.Format(v)
	}
	return s
}

// dash prints an amount, or "-" for none.
func stlDash(v int64) string {
	if v == 0 {
		return "-"
	}
	return money.Format(v)
}

// stlReceiptLines turns a receipt into "LABEL: VALUE" lines with the padding
// collapsed, as a reader sees them.
func stlReceiptLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// stlCheckReceipt compares the rows of a headerless table with a receipt: a
// row "| AMOUNT | CNY 100.00 |" wants the line "AMOUNT: CNY 100.00" (or,
// as the settlement slip prints its totals, "SALE x3 165.90"); a row with
// one cell wants a line with that text.
func stlCheckReceipt(what, text string, table *godog.Table) error {
	if table == nil || len(table.Rows) == 0 {
		return errors.New("this step needs a table: | LABEL | value | per receipt line, or | text | for a line without a value")
	}
	lines := stlReceiptLines(text)
	want, got := map[string]string{}, map[string]string{}
	for _, r := range table.Rows {
		label := strings.TrimSuffix(strings.TrimSpace(r.Cells[0].Value), ":")
		if len(r.Cells) == 1 || strings.TrimSpace(r.Cells[1].Value) == "" {
			want[label] = "printed"
			got[label] = "not printed"
			for _, l := range lines {
				if strings.EqualFold(strings.TrimSuffix(l, ":"), label) {
					got[label] = "printed"
				}
			}
			continue
		}
		want[label] = strings.Join(strings.Fields(r.Cells[1].Value), " ")
		got[label] = "(no such line)"
		for _, l := range lines {
			// "LABEL: value" on receipts; "LABEL value" on the settlement slip.
			if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), label) {
				got[label] = strings.TrimSpace(v)
				break
			}
			if len(l) > len(label) && strings.EqualFold(l[:len(label)], label) && l[len(label)] == ' ' {
				got[label] = strings.TrimSpace(l[len(label):])
				break
			}
		}
	}
	if err := diff(what, want, got); err != nil {
		return fmt.Errorf("%w\nthe receipt:\n%s", err, text)
	}
	return nil
}

// printed returns the text of the latest receipt the terminal printed with
// this copy name (merchant, customer, settlement) and, if given, STAN.
func (w *World) stlPrinted(copyName, stan string) (string, error) {
	evs := w.Lab.Recorder.Filter("terminal", terminal.EventReceipt)
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.Fields["copy"] == copyName && (stan == "" || e.Fields["stan"] == stan) {
			return e.Text, nil
		}
	}
	if stan != "" {
		return "", fmt.Errorf("the printer printed no %s copy for STAN %s (%d receipts printed; queued ones print when the printer is ready)",
			copyName, stan, len(evs))
	}
	return "", fmt.Errorf("the printer printed no %s slip (%d receipts printed)", copyName, len(evs))
}

func settlementSteps() []Step {
	d := settlementDomain
	return []Step{
		// Real-time settlement onboarding (docs/merchant-flow.md §2).
		{Domain: d, Pattern: `^the merchant has not applied for real-time settlement$`,
			Example: "Given the merchant has not applied for real-time settlement",
			Help:    "The terminal's merchant settles T+1 with no real-time application on file.",
			Fn: func(ctx context.Context) error {
				return world(ctx).stlUpdateMerchant(ctx, "settles T+1, no real-time application", func(m *ledger.Merchant) {
					m.Mode, m.Realtime = ledger.T1, ledger.RealtimeNone
				})
			}},
		{Domain: d, Pattern: `^the merchant applies for real-time settlement with these documents:$`,
			Example: "When the merchant applies for real-time settlement with these documents:\n  | document         |\n  | business licence |\n  | identity         |",
			Help: "The application is pending until reviewed; a business licence and an identity document are required " +
				"(also accepted: " + strings.Join(stlKnownDocs[2:], ", ") + ").",
			Fn: func(ctx context.Context, table *godog.Table) error {
				w := world(ctx)
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				var docs []string
				have := map[string]bool{}
				for _, r := range rows {
					doc := strings.ToLower(r["document"])
					if !stlContains(stlKnownDocs, doc) {
						return oneOf("document", r["document"], stlKnownDocs)
					}
					docs = append(docs, doc)
					have[doc] = true
				}
				var missing []string
				for _, req := range stlRequiredDocs {
					if !have[req] {
						missing = append(missing, req)
					}
				}
				if len(missing) > 0 {
					return fmt.Errorf("the application lacks %s: an application needs %s", strings.Join(missing, " and "),
						strings.Join(stlRequiredDocs, " and "))
				}
				return w.stlUpdateMerchant(ctx, "applied for real-time settlement with "+strings.Join(docs, ", "), func(m *ledger.Merchant) {
					m.Mode, m.Realtime = ledger.Realtime, ledger.RealtimePending
				})
			}},
		{Domain: d, Pattern: `^the real-time settlement application is (approved|rejected)$`,
			Example: "When the real-time settlement application is approved",
			Help:    "The acquirer's review: only an approved merchant is credited in real time (D0).",
			Fn: func(ctx context.Context, decision string) error {
				w := world(ctx)
				if _, err := w.stlLedger(); err != nil {
					return err
				}
				st := map[string]ledger.RealtimeStatus{"approved": ledger.RealtimeApproved, "rejected": ledger.RealtimeRejected}[decision]
				if err := w.Lab.Host.SetMerchantRealtime(ctx, w.stlMerchant(), st); err != nil {
					return err
				}
				w.stlNote("merchant", w.stlMerchant()+": real-time settlement application "+decision)
				return nil
			}},
		{Domain: d, Pattern: `^the merchant's real-time settlement is (approved|pending|rejected|not applied for)$`,
			Example: "Then the merchant's real-time settlement is approved",
			Fn: func(ctx context.Context, want string) error {
				w := world(ctx)
				led, err := w.stlLedger()
				if err != nil {
					return err
				}
				m, err := led.Merchant(ctx, w.stlMerchant())
				if err != nil {
					return err
				}
				got := string(m.Realtime)
				if m.Realtime == ledger.RealtimeNone {
					got = "not applied for"
				}
				return diff("real-time settlement status", want, got)
			}},
		{Domain: d, Pattern: `^the real-time limits are set to (\S+) per transaction and (\S+) per day$`,
			Example: "Given the real-time limits are set to 500.00 per transaction and 1,000.00 per day",
			Help:    "Above the per-transaction limit a sale waits for the cut-off (T+1); so does a sale that would take the day's D0 total past the daily limit.",
			Fn: func(ctx context.Context, perTxn, perDay string) error {
				p, err := payAmount(perTxn)
				if err != nil {
					return err
				}
				day, err := payAmount(perDay)
				if err != nil {
					return err
				}
				if p == 0 || day == 0 {
					return errors.New("a real-time limit of 0.00 would mean no limit at all; give positive amounts")
				}
				return world(ctx).stlUpdateMerchant(ctx, fmt.Sprintf("real-time limits %s per transaction, %s per day",
					money.Format(p), money.Format(day)), func(m *ledger.Merchant) {
					m.RealtimePerTxn, m.RealtimeDaily = p, day
				})
			}},
		{Domain: d, Pattern: `^the merchant settles T\+1 only$`, Example: "Given the merchant settles T+1 only",
			Help: "The merchant's settlement mode is next day, whatever its real-time application says.",
			Fn: func(ctx context.Context) error {
				return world(ctx).stlUpdateMerchant(ctx, "settles T+1 only", func(m *ledger.Merchant) { m.Mode = ledger.T1 })
			}},

		// The merchant's account.
		{Domain: d, Pattern: `^the merchant's account is credited (\S+)( at once| at the cut-off)?$`,
			Example: "Then the merchant's account is credited 99.40 at once",
			Help: "The balance went up by the amount since the previous account check (or the scenario's start: 0.00). " +
				"\"at once\" also requires that no cut-off ran in between (a D0 credit); \"at the cut-off\" that one did.",
			Fn: func(ctx context.Context, amount, when string) error {
				w := world(ctx)
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				delta, cutoff, err := w.stlDelta(ctx)
				if err != nil {
					return err
				}
				if err := diff("credit to the merchant's account since the last check", money.Format(a), money.Format(delta)); err != nil {
					return err
				}
				switch {
				case when == " at once" && cutoff:
					return errors.New("a cut-off ran since the last account check, so this credit is not shown to be real-time; check the account before the cut-off")
				case when == " at the cut-off" && !cutoff:
					return errors.New("no cut-off ran since the last account check; run it first (When the day's cut-off runs)")
				}
				return nil
			}},
		{Domain: d, Pattern: `^the merchant's account is debited (\S+)$`, Example: "Then the merchant's account is debited 99.40",
			Help: "The balance went down by the amount since the previous account check (a void, reversal or refund of a D0 sale).",
			Fn: func(ctx context.Context, amount string) error {
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				delta, _, err := world(ctx).stlDelta(ctx)
				if err != nil {
					return err
				}
				return diff("debit to the merchant's account since the last check", money.Format(a), money.Format(-delta))
			}},
		{Domain: d, Pattern: `^the merchant's account is not credited$`, Example: "Then the merchant's account is not credited",
			Help: "The balance has not moved since the previous account check.",
			Fn: func(ctx context.Context) error {
				delta, _, err := world(ctx).stlDelta(ctx)
				if err != nil {
					return err
				}
				return diff("movement of the merchant's account since the last check", "0.00", money.Format(delta))
			}},
		{Domain: d, Pattern: `^the merchant's account balance is (\S+)$`, Example: "Then the merchant's account balance is 198.80",
			Help: "The balance itself; it also becomes the mark of the next \"credited\" check.",
			Fn: func(ctx context.Context, amount string) error {
				w := world(ctx)
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				led, err := w.stlLedger()
				if err != nil {
					return err
				}
				b, err := led.Balance(ctx, w.stlMerchant())
				if err != nil {
					return err
				}
				if err := w.stlMark(ctx); err != nil {
					return err
				}
				return diff("merchant's account balance", money.Format(a), money.Format(b))
			}},
		{Domain: d, Pattern: `^the (?:last )?sale is (pending for T\+1|credited D0|credited at the cut-off|reversed)$`,
			Example: "Then the last sale is pending for T+1",
			Help:    "How the ledger settles the terminal's last sale (card, QR or completion), as the day's statement lists it.",
			Fn: func(ctx context.Context, want string) error {
				w := world(ctx)
				led, err := w.stlLedger()
				if err != nil {
					return err
				}
				x, err := w.stlLastSale()
				if err != nil {
					return err
				}
				st, err := led.Statement(ctx, w.stlMerchant(), ledger.Day, x.Time)
				if err != nil {
					return err
				}
				key := w.stlKey(x)
				names := map[string]string{"d0": "credited D0", "t1_pending": "pending for T+1",
					"t1_credited": "credited at the cut-off", "reversed": "reversed", "declined": "declined", "": "not settled"}
				for _, ln := range st.Lines {
					if ln.Key == key {
						return diff("settlement of the last sale (STAN "+x.STAN+")", want, names[ln.Settlement])
					}
				}
				return fmt.Errorf("the ledger holds no entry for the last sale (STAN %s, %s)", x.STAN, key)
			}},
		{Domain: d, Pattern: `^the fee on the last (?:sale|transaction) is (\S+)$`, Example: "Then the fee on the last sale is 0.60",
			Help: "The fee the ledger charged on the last sale when it posted it (card 0.60 %, QR 0.38 %, rounded half up to the fen).",
			Fn: func(ctx context.Context, amount string) error {
				w := world(ctx)
				a, err := parseAmount(amount)
				if err != nil {
					return err
				}
				x, err := w.stlLastSale()
				if err != nil {
					return err
				}
				ps, err := w.stlPostings(ctx)
				if err != nil {
					return err
				}
				key := w.stlKey(x)
				for _, p := range ps {
					if p.EntryKey == key && (p.Type == ledger.PostD0Credit || p.Type == ledger.PostT1Pending) {
						return diff("fee on the last sale (STAN "+x.STAN+")", money.Format(a), money.Format(p.Fee))
					}
				}
				return fmt.Errorf("the ledger posted nothing for the last sale (STAN %s): was it approved?", x.STAN)
			}},
		{Domain: d, Pattern: `^the ledger shows these postings:$`,
			Example: "Then the ledger shows these postings:\n  | type       | gross  | fee  | net   |\n  | d0_credit  | 100.00 | 0.60 | 99.40 |\n  | reverse_d0 | 100.00 | 0.60 | 99.40 |",
			Help: "Every posting of the merchant on the business day, oldest first, in full. Types: d0_credit (credited at once), " +
				"t1_pending (waits for the cut-off; negative for a T+1 refund), t1_credit (credited at the cut-off), " +
				"reverse_d0 (taken back from the account), cancel_t1 (a pending posting cancelled). Amounts are as posted, unsigned but for T+1 refunds.",
			Fn: func(ctx context.Context, table *godog.Table) error {
				w := world(ctx)
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				ps, err := w.stlPostings(ctx)
				if err != nil {
					return err
				}
				types := []string{ledger.PostD0Credit, ledger.PostT1Pending, ledger.PostT1Credit, ledger.PostReverseD0, ledger.PostCancelT1}
				var want, got []string
				for _, r := range rows {
					if !stlContains(types, r["type"]) {
						return oneOf("posting type", r["type"], types)
					}
					want = append(want, fmt.Sprintf("%s gross %s fee %s net %s", r["type"], stlAmount(r["gross"]), stlAmount(r["fee"]), stlAmount(r["net"])))
				}
				for _, p := range ps {
					got = append(got, fmt.Sprintf("%s gross %s fee %s net %s", p.Type, money.Format(p.Gross), money.Format(p.Fee), money.Format(p.Net)))
				}
				return diff("the merchant's postings", want, got)
			}},
		{Domain: d, Pattern: `^(?:the )?ledger verify passes$`, Example: "Then ledger verify passes",
			Help: "The ledger's invariants hold: balances add up, nothing is posted or reversed twice, fees are right.",
			Fn: func(ctx context.Context) error {
				led, err := world(ctx).stlLedger()
				if err != nil {
					return err
				}
				br, err := led.Verify(ctx)
				if err != nil {
					return err
				}
				got := make([]string, 0, len(br))
				for _, b := range br {
					got = append(got, b.String())
				}
				return diff("ledger invariant breaches", []string{}, got)
			}},

		// The cut-off and statements.
		{Domain: d, Pattern: `^the day's cut-off runs(?: at (\d\d:\d\d))?$`, Example: "When the day's cut-off runs",
			Help: "Credits every pending T+1 posting of the business day to the merchant's account, stamped at the cut-off time (23:00 unless given).",
			Fn: func(ctx context.Context, at string) error {
				w := world(ctx)
				led, err := w.stlLedger()
				if err != nil {
					return err
				}
				h, m := stlCutoffHour, 0
				if at != "" {
					t, err := time.Parse("15:04", at)
					if err != nil {
						return fmt.Errorf("bad cut-off time %q: write it like 23:00", at)
					}
					h, m = t.Hour(), t.Minute()
				}
				when := w.stlDay().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
				ps, err := led.CutOff(ctx, when)
				if err != nil {
					return err
				}
				n, _ := w.Get(keySettleCutoffs).(int)
				w.Set(keySettleCutoffs, n+1)
				var sum int64
				for _, p := range ps {
					sum += p.Net
				}
				w.stlNote("cutoff", fmt.Sprintf("cut-off %s: %d pending posting(s) credited, %s", when.Format("2006-01-02 15:04"), len(ps), money.Format(sum)))
				return nil
			}},
		{Domain: d, Pattern: `^the (day|month|quarter)'s statement(?: for (\d{4}-\d\d-\d\d))? shows:$`,
			Example: "Then the day's statement shows:\n  | transactions | 2      |\n  | gross        | 200.00 |\n  | fees         | 1.20   |\n  | net          | 198.80 |\n  | settled D0   | 198.80 |\n  | pending T+1  | 0.00   |",
			Help: "The merchant's statement of the period holding the business day (or the date given). Rows name a figure and its value; " +
				"only the rows given are compared. Figures: " + strings.Join(stlStatementFields, ", ") +
				". transactions/gross count approved sales, QR sales and completions; net and fees are as posted in the period.",
			Fn: func(ctx context.Context, period, date string, table *godog.Table) error {
				w := world(ctx)
				led, err := w.stlLedger()
				if err != nil {
					return err
				}
				at := w.stlNow()
				if date != "" {
					d, err := time.ParseInLocation("2006-01-02", date, ScenarioStart.Location())
					if err != nil {
						return fmt.Errorf("bad date %q: write it like 2026-06-15", date)
					}
					at = d.Add(12 * time.Hour)
				}
				st, err := led.Statement(ctx, w.stlMerchant(), ledger.Period(period), at)
				if err != nil {
					return err
				}
				if table == nil {
					return errors.New("this step needs a table of | figure | value |")
				}
				want, got := map[string]string{}, map[string]string{}
				for _, r := range table.Rows {
					if len(r.Cells) != 2 {
						return errors.New("each row of the statement table is | figure | value |")
					}
					f := strings.TrimSpace(r.Cells[0].Value)
					if !stlContains(stlStatementFields, f) {
						return oneOf("statement figure", f, stlStatementFields)
					}
					want[f] = strings.TrimSpace(r.Cells[1].Value)
					if !stlContains([]string{"transactions", "refunds", "reversals", "declined"}, f) {
						want[f] = stlAmount(want[f])
					}
					got[f] = stlStatementValue(st, f)
				}
				return diff(fmt.Sprintf("%s statement %s..%s", period, st.From.Format("2006-01-02"), st.To.AddDate(0, 0, -1).Format("2006-01-02")), want, got)
			}},
		{Domain: d, Pattern: `^the host's journal already holds these sales of earlier days:$`,
			Example: "Given the host's journal already holds these sales of earlier days:\n  | date       | method | amount |\n  | 2026-04-20 | card   | 200.00 |\n  | 2026-06-01 | qr     | 50.00  |",
			Help: "History for monthly and quarterly statements: approved sales journaled with their own dates under the terminal's ID, " +
				"settled as the merchant settles today, each day's cut-off already run. The account check mark moves past them.",
			Fn: func(ctx context.Context, table *godog.Table) error {
				w := world(ctx)
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				led, err := w.stlLedger()
				if err != nil {
					return err
				}
				days := map[time.Time]bool{}
				for i, r := range rows {
					day, err := time.ParseInLocation("2006-01-02", r["date"], ScenarioStart.Location())
					if err != nil {
						return fmt.Errorf("row %d: bad date %q: write it like 2026-06-01", i+1, r["date"])
					}
					if !day.Before(w.stlDay()) {
						return fmt.Errorf("row %d: %s is not before the business day %s", i+1, r["date"], w.stlDay().Format("2006-01-02"))
					}
					amt, err := parseAmount(r["amount"])
					if err != nil {
						return fmt.Errorf("row %d: %w", i+1, err)
					}
					kind, method := ledger.KindSale, r["method"]
					switch method {
					case "card":
					case "qr":
						kind = ledger.KindQR
					default:
						return oneOf("method", method, []string{"card", "qr"})
					}
					t := day.Add(10*time.Hour + time.Duration(i)*time.Minute)
					e := ledger.Entry{Key: ledger.Key{TID: w.Lab.Terminal.ID(), STAN: w.stlSeedSTAN(), Date: t.Format("0102")},
						MTI: "0200", ProcCode: "000000", Kind: kind, MerchantID: w.stlMerchant(), Method: method, Amount: amt,
						Currency: w.Profile.CurrencyCode, RespCode: "00", AuthCode: "000000", Batch: "900000", Time: t}
					if err := w.stlRecord(ctx, e); err != nil {
						return fmt.Errorf("row %d: %w", i+1, err)
					}
					days[day] = true
				}
				var ds []time.Time
				for day := range days {
					ds = append(ds, day)
				}
				sort.Slice(ds, func(i, j int) bool { return ds[i].Before(ds[j]) })
				for _, day := range ds {
					if _, err := led.CutOff(ctx, day.Add(stlCutoffHour*time.Hour)); err != nil {
						return err
					}
				}
				w.stlNote("history", fmt.Sprintf("%d sale(s) of earlier days journaled", len(rows)))
				return w.stlMark(ctx)
			}},

		// Reconciliation of the terminal's batch with the host's journal.
		{Domain: d, Pattern: `^the host's totals for the next reconciliation disagree$`,
			Example: "Given the host's totals for the next reconciliation disagree",
			Help:    "The host answers the next 0500 with 95 (out of balance) whatever its journal says, once: the terminal must upload its batch (0320) and close it with a second 0500.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if _, err := w.stlLedger(); err != nil {
					return err
				}
				_, err := w.Lab.Host.Faults().Add(acquirer.Fault{Name: "totals disagree once", Match: acquirer.Match{MTI: "0500"},
					Action: acquirer.ActRespond, Code: "95"})
				return err
			}},
		{Domain: d, Pattern: `^the host reverses the last sale in its journal$`,
			Example: "Given the host reverses the last sale in its journal",
			Help: "The host's journal gets a reversal of the terminal's last sale that the terminal never sent (a back-office reversal): " +
				"the host's batch totals and the merchant's account no longer hold the sale, the terminal's still do.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				x, err := w.stlLastSale()
				if err != nil {
					return err
				}
				k := w.stlKey(x)
				e := ledger.Entry{Key: ledger.Key{TID: k.TID, STAN: w.stlSeedSTAN(), Date: k.Date}, MTI: "0420", ProcCode: x.ProcCode,
					Kind: ledger.KindReversal, MerchantID: w.stlMerchant(), Amount: x.Amount, Currency: w.Profile.CurrencyCode,
					RespCode: "00", Batch: fmt.Sprintf("%06d", x.Batch), Orig: &k, Time: w.stlNow()}
				if err := w.stlRecord(ctx, e); err != nil {
					return err
				}
				w.stlNote("journal", "host-side reversal of "+k.String())
				return nil
			}},
		{Domain: d, Pattern: `^the host's journal holds an extra sale of (\S+) for this terminal$`,
			Example: "Given the host's journal holds an extra sale of 50.00 for this terminal",
			Help:    "An approved card sale in the terminal's open batch at the host that the terminal never logged (it is \"extra 1\", \"extra 2\"... in reports).",
			Fn: func(ctx context.Context, amount string) error {
				w := world(ctx)
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				now := w.stlNow()
				k := ledger.Key{TID: w.Lab.Terminal.ID(), STAN: w.stlSeedSTAN(), Date: now.Format("0102")}
				e := ledger.Entry{Key: k, MTI: "0200", ProcCode: "000000", Kind: ledger.KindSale, MerchantID: w.stlMerchant(),
					Method: "card", Amount: a, Currency: w.Profile.CurrencyCode, RespCode: "00", AuthCode: "000000",
					Batch: fmt.Sprintf("%06d", w.Lab.Terminal.Batch()), Time: now}
				if err := w.stlRecord(ctx, e); err != nil {
					return err
				}
				extras, _ := w.Get(keySettleExtras).([]ledger.Key)
				w.Set(keySettleExtras, append(extras, k))
				w.stlNote("journal", "extra sale "+k.String()+" of "+money.Format(a))
				return nil
			}},
		{Domain: d, Pattern: `^the host's journal holds the last sale twice$`,
			Example: "Given the host's journal holds the last sale twice",
			Help:    "An offline advice (0220) repeating the terminal's last sale is journaled and approved as well: the sale is credited twice at the host.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				x, err := w.stlLastSale()
				if err != nil {
					return err
				}
				k := w.stlKey(x)
				method := "card"
				if x.Kind == terminal.KindQR {
					method = "qr"
				}
				e := ledger.Entry{Key: k, MTI: "0220", ProcCode: x.ProcCode, Kind: ledger.KindAdvice, MerchantID: w.stlMerchant(),
					PANMasked: x.MaskedPAN, Method: method, Amount: x.Amount, Currency: w.Profile.CurrencyCode, RespCode: "00",
					AuthCode: x.AuthCode, RRN: x.RRN, Batch: fmt.Sprintf("%06d", x.Batch), Time: w.stlNow()}
				if err := w.stlRecord(ctx, e); err != nil {
					return err
				}
				w.stlNote("journal", "advice repeating "+k.String())
				return nil
			}},
		{Domain: d, Pattern: `^the host journals the next sale but its answer never reaches the terminal$`,
			Example: "Given the host journals the next sale but its answer never reaches the terminal",
			Help:    "The host approves and journals the next card or QR sale (0200) and sends no answer, once: the terminal times out and reverses.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if _, err := w.stlLedger(); err != nil {
					return err
				}
				_, err := w.Lab.Host.Faults().Add(acquirer.Fault{Name: "sale answer lost", Match: acquirer.Match{MTI: "0200", ProcCode: "000000"},
					Action: acquirer.ActDrop})
				return err
			}},
		{Domain: d, Pattern: `^the host's journal takes no reversals$`,
			Example: "Given the host's journal takes no reversals",
			Help:    "From now on the host answers every reversal (0400, 0401) 91 without journaling it: the terminal keeps it pending.",
			Fn: func(ctx context.Context) error {
				w := world(ctx)
				if _, err := w.stlLedger(); err != nil {
					return err
				}
				for _, mti := range []string{"0400", "0401"} {
					if _, err := w.Lab.Host.Faults().Add(acquirer.Fault{Name: "no reversals", Match: acquirer.Match{MTI: mti},
						Action: acquirer.ActMaintenance, Code: "91", Sticky: true}); err != nil {
						return err
					}
				}
				return nil
			}},
		{Domain: d, Pattern: `^the host's batch totals are (\d+) sales? for (\S+) and (\d+) refunds? for (\S+)$`,
			Example: "Then the host's batch totals are 2 sales for 188.00 and 1 refund for 10.00",
			Help:    "What the host's journal holds for the batch the terminal last settled (or its open batch): approved sales, QR sales and completions not voided or reversed; refunds.",
			Fn: func(ctx context.Context, sc int, sa string, rc int, ra string) error {
				w := world(ctx)
				led, err := w.stlLedger()
				if err != nil {
					return err
				}
				s, err := parseAmount(sa)
				if err != nil {
					return err
				}
				r, err := parseAmount(ra)
				if err != nil {
					return err
				}
				batch := w.Lab.Terminal.Batch()
				if res, ok := w.Get(keySettle).(terminal.SettleResult); ok && res.Batch != 0 {
					batch = res.Batch
				}
				t, err := led.BatchTotals(ctx, w.Lab.Terminal.ID(), fmt.Sprintf("%06d", batch))
				if err != nil {
					return err
				}
				return diff(fmt.Sprintf("host's totals of batch %06d", batch),
					ledger.Totals{SaleCount: sc, SaleAmount: s, RefundCount: rc, RefundAmount: r}, t)
			}},
		{Domain: d, Pattern: `^the merchant's own sales records for the batch are:$`,
			Example: "Given the merchant's own sales records for the batch are:\n  | transaction | amount |\n  | sale 1      | 100.00 |\n  | qr 1        | 45.90  |",
			Help: "The merchant's till or bookkeeping, to compare with the host's journal. Transactions are named by kind and order in " +
				"the terminal's log: sale 1, qr 1, completion 1, refund 1, void 1, or last sale.",
			Fn: func(ctx context.Context, table *godog.Table) error {
				w := world(ctx)
				rows, err := tableRows(table)
				if err != nil {
					return err
				}
				byRef, _ := w.stlRefs()
				var items []ledger.BatchItem
				for _, r := range rows {
					x, ok := byRef[r["transaction"]]
					if !ok {
						return oneOf("transaction", r["transaction"], stlRefNames(byRef))
					}
					a, err := parseAmount(r["amount"])
					if err != nil {
						return err
					}
					kind := map[terminal.Kind]ledger.Kind{terminal.KindQR: ledger.KindQR, terminal.KindRefund: ledger.KindRefund,
						terminal.KindVoid: ledger.KindVoid, terminal.KindCompletion: ledger.KindCompletion}[x.Kind]
					if kind == "" {
						kind = ledger.KindSale
					}
					items = append(items, ledger.BatchItem{Key: w.stlKey(x), Kind: kind, Amount: a, RespCode: "00"})
				}
				w.Set(keySettleRecords, items)
				return nil
			}},
		{Domain: d, Pattern: `^the discrepancy report for (the terminal's batch|the merchant's records) lists:$`,
			Example: "Then the discrepancy report for the terminal's batch lists:\n  | kind                | transaction | terminal amount | host amount |\n  | missing_at_terminal | extra 1     | -               | 50.00       |",
			Help: "Compares the terminal's open batch (its log), or the merchant's own records, with the host's journal for the batch. " +
				"Kinds: missing_at_host, missing_at_terminal, amount_mismatch, duplicate, unreversed_timeout. Transactions as in the " +
				"terminal's log (sale 1, qr 1, refund 1...) or extra 1... for sales only the host holds; \"-\" is no amount. ",
			Fn: func(ctx context.Context, source string, table *godog.Table) error {
				return world(ctx).stlReport(ctx, source, table)
			}},
		{Domain: d, Pattern: `^the discrepancy report for (the terminal's batch|the merchant's records) is empty$`,
			Example: "Then the discrepancy report for the terminal's batch is empty",
			Help:    "Nothing differs between the terminal's open batch (or the merchant's own records) and the host's journal.",
			Fn: func(ctx context.Context, source string) error {
				return world(ctx).stlReport(ctx, source, nil)
			}},

		// What the printer printed, for certification plans.
		{Domain: d, Pattern: `^the printed (merchant|customer) copy of the last transaction shows:$`,
			Example: "Then the printed customer copy of the last transaction shows:\n  | TXN TYPE | SALE       |\n  | AMOUNT   | CNY 100.00 |\n  | RESULT   | APPROVED   |",
			Help: "The receipt the printer printed for the last transaction: each row | LABEL | value | wants the line \"LABEL: value\" " +
				"(padding ignored, label case-insensitive); a row with one cell wants a line with just that text.",
			Fn: func(ctx context.Context, copyName string, table *godog.Table) error {
				w := world(ctx)
				x, err := w.lastTxn()
				if err != nil {
					return err
				}
				text, err := w.stlPrinted(copyName, x.STAN)
				if err != nil {
					return err
				}
				return stlCheckReceipt("the "+copyName+" copy of STAN "+x.STAN, text, table)
			}},
		{Domain: d, Pattern: `^the printed settlement slip shows:$`,
			Example: "Then the printed settlement slip shows:\n  | BATCH NO | 000001   |\n  | SALE x2  | 188.00   |\n  | RESULT   | BALANCED |",
			Help:    "The last settlement slip the printer printed, compared as the receipts are.",
			Fn: func(ctx context.Context, table *godog.Table) error {
				text, err := world(ctx).stlPrinted("settlement", "")
				if err != nil {
					return err
				}
				return stlCheckReceipt("the settlement slip", text, table)
			}},
		{Domain: "terminal", Pattern: `^the customer pays (\S+) by (credit card|debit card) "([^"]*)" by (chip|tap|swipe) and signs$`,
			Example: `When the customer pays 30.00 by debit card "swipe-only" by swipe and signs`,
			Help:    "The whole sale in one step with a signature instead of a PIN; the receipt gets the signature line.",
			Fn: func(ctx context.Context, amount, method, alias, entry string) error {
				w := world(ctx)
				a, err := payAmount(amount)
				if err != nil {
					return err
				}
				if err := w.present(ctx, alias, entry); err != nil {
					return err
				}
				w.Set(keyAmount, a)
				req := w.saleRequest(methods[method])
				req.Signature = true
				t, err := w.Lab.Terminal.Sale(ctx, req)
				return w.recordTxn(t, err)
			}},
	}
}

func stlContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// stlReport compares the terminal's open batch, or the merchant's own
// records, with the host's journal for the open batch and diffs the
// discrepancies with table (nil: none expected).
func (w *World) stlReport(ctx context.Context, source string, table *godog.Table) error {
	led, err := w.stlLedger()
	if err != nil {
		return err
	}
	items := w.stlBatchItems()
	if source == "the merchant's records" {
		var ok bool
		if items, ok = w.Get(keySettleRecords).([]ledger.BatchItem); !ok {
			return errors.New("no merchant's records yet: give them first (Given the merchant's own sales records for the batch are:)")
		}
	}
	ds, err := led.DiscrepanciesInBatch(ctx, w.Lab.Terminal.ID(), fmt.Sprintf("%06d", w.Lab.Terminal.Batch()), items)
	if err != nil {
		return err
	}
	_, names := w.stlRefs()
	kinds := []string{ledger.MissingAtHost, ledger.MissingAtTerminal, ledger.AmountMismatch, ledger.Duplicate, ledger.UnreversedTimeout}
	var cols []string
	var want []map[string]string
	if table != nil {
		rows, err := tableRows(table)
		if err != nil {
			return err
		}
		for _, c := range table.Rows[0].Cells {
			col := strings.ToLower(strings.TrimSpace(c.Value))
			if !stlContains([]string{"kind", "transaction", "terminal amount", "host amount"}, col) {
				return oneOf("column", col, []string{"kind", "transaction", "terminal amount", "host amount"})
			}
			cols = append(cols, col)
		}
		for _, r := range rows {
			if !stlContains(kinds, r["kind"]) {
				return oneOf("discrepancy kind", r["kind"], kinds)
			}
			m := map[string]string{}
			for _, c := range cols {
				m[c] = r[c]
				if strings.HasSuffix(c, "amount") {
					m[c] = stlAmount(r[c])
				}
			}
			want = append(want, m)
		}
	}
	got := []map[string]string{}
	for _, d := range ds {
		name := names[d.Key]
		if name == "" {
			name = d.Key.String()
		}
		full := map[string]string{"kind": d.Kind, "transaction": name,
			"terminal amount": stlDash(d.TerminalAmount), "host amount": stlDash(d.HostAmount)}
		m := map[string]string{}
		for _, c := range cols {
			m[c] = full[c]
		}
		if cols == nil {
			m = full
		}
		got = append(got, m)
	}
	if want == nil {
		want = []map[string]string{}
	}
	byKey := func(s []map[string]string) {
		sort.SliceStable(s, func(i, j int) bool {
			return s[i]["kind"]+"|"+s[i]["transaction"] < s[j]["kind"]+"|"+s[j]["transaction"]
		})
	}
	byKey(want)
	byKey(got)
	return diff("discrepancies", want, got)
}
