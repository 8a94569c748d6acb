package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
	"github.com/possim/possim/simulators/terminal"
)

// DemoConfig configures RunDemo.
type DemoConfig struct {
	Dir string // the lab's ledger lives here
	Out io.Writer
	// ResponseTimeout is how long the terminal waits for the host in the
	// timeout act; short, so the demo runs in seconds in real time.
	ResponseTimeout time.Duration
	Seed            uint64
	// OnLab, if set, is called with the lab once it has started (possim
	// demo --dashboard shows it).
	OnLab func(*Lab)
	// Pace is a pause before each act, so that a person watching the
	// dashboard can follow; 0: none.
	Pace time.Duration
}

// RunDemo plays the whole merchant flow once in a virtual lab with the
// default profile and tells the story on Out: the receipts as printed,
// the message ladder between terminal and host, and the ledger lines.
func RunDemo(ctx context.Context, cfg DemoConfig) error {
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 1500 * time.Millisecond
	}
	lab, err := New(ctx, Config{Dir: cfg.Dir, Seed: cfg.Seed, ResponseTimeout: cfg.ResponseTimeout})
	if err != nil {
		return err
	}
	defer lab.Close()
	if cfg.OnLab != nil {
		cfg.OnLab(lab)
	}
	d := &demo{ctx: ctx, lab: lab, out: cfg.Out, pace: cfg.Pace}
	mid := lab.Terminal.MerchantID()
	m, _ := lab.Profile.Merchant(mid)

	d.act("1. Power on: the terminal checks its link and peripherals")
	st, err := lab.Terminal.PowerOn(ctx)
	if err != nil {
		return fmt.Errorf("power-on self test: %w", err)
	}
	checks := &table{}
	for _, c := range st.Checks {
		checks.row(c.Name, map[bool]string{true: "ok", false: "FAIL"}[c.OK], c.Detail)
	}
	d.table(checks)

	d.act("2. Sign-on: the host hands out a session PIN key, loaded into the PIN pad")
	if err := lab.Terminal.SignOn(ctx); err != nil {
		return fmt.Errorf("sign-on: %w", err)
	}
	d.ladder()

	d.act("3. Sale: three products scanned, visa-credit by chip and PIN")
	scans := &table{right: []bool{false, false, false, true}}
	for _, code := range []string{"6901234567892", "6901234567908", "6901234567915"} {
		p, _ := lab.Profile.Product(code)
		scans.row("scan", code, p.Name, money.Format(int64(p.Price)))
		if err := lab.Scanner.Scan(code); err != nil {
			return err
		}
	}
	d.table(scans)
	lab.Reader.Insert("visa-credit")
	lab.PINPad.Type("1234")
	txn, err := lab.Terminal.Sale(ctx, terminal.SaleRequest{Scan: true, ScanCount: 3, Method: terminal.Credit})
	if err := d.outcome(txn, err, terminal.StatusApproved); err != nil {
		return err
	}
	lab.Reader.Remove()
	d.ladder()
	d.receipts()

	d.act("4. QR payment: the customer's payment code is scanned")
	txn, err = lab.Terminal.QR(ctx, terminal.SaleRequest{Amount: 8800, Method: terminal.QR, PaymentCode: lab.Profile.Wallets[0].Code})
	if err := d.outcome(txn, err, terminal.StatusApproved); err != nil {
		return err
	}
	d.ladder()
	d.receipts()

	d.act("5. A declined card: the expired test card")
	lab.Reader.Insert("expired")
	lab.PINPad.Type("1234")
	txn, err = lab.Terminal.Sale(ctx, terminal.SaleRequest{Amount: 4500})
	if err := d.outcome(txn, err, terminal.StatusDeclined); err != nil {
		return err
	}
	lab.Reader.Remove()
	d.ladder()

	d.act("6. The host does not answer: the terminal times out and reverses")
	fid, err := lab.Host.Faults().Add(acquirer.Fault{Name: "host silent", Match: acquirer.Match{MTI: "0200"}, Action: acquirer.ActDrop})
	if err != nil {
		return err
	}
	lab.Reader.Insert("mc-debit")
	lab.PINPad.Type("1234")
	txn, err = lab.Terminal.Sale(ctx, terminal.SaleRequest{Amount: 2500, Method: terminal.Debit})
	lab.Host.Faults().Remove(fid)
	if err := d.outcome(txn, err, terminal.StatusReversed); err != nil {
		return err
	}
	lab.Reader.Remove()
	if n := len(lab.Terminal.PendingReversals()); n > 0 {
		d.say("   %d reversal(s) still pending; they go out before the next transaction", n)
	}
	d.ladder()

	d.act("7. The printer runs out of paper: the sale stands, the receipt waits")
	lab.Printer.PaperOut()
	lab.Reader.Tap("visa-credit")
	txn, err = lab.Terminal.Sale(ctx, terminal.SaleRequest{Amount: 12900})
	if err := d.outcome(txn, err, terminal.StatusApproved); err != nil {
		return err
	}
	d.ladder()
	d.say("   receipts queued: %d; the display says %q", lab.Terminal.QueuedReceipts(), lab.Terminal.Display())
	d.say("   ... the cashier loads a new roll")
	lab.Printer.LoadPaper()
	if err := lab.Terminal.FlushReceipts(ctx); err != nil {
		return fmt.Errorf("printing the queued receipts: %w", err)
	}
	d.say("   receipts queued: %d", lab.Terminal.QueuedReceipts())
	d.receipts()

	d.act("8. Settlement: the batch totals against the host's")
	res, err := lab.Terminal.Settle(ctx)
	if err != nil {
		return fmt.Errorf("settlement: %w", err)
	}
	d.ladder()
	t := res.Totals
	d.say("   batch %06d: %d sales %s, %d refunds %s -> %s %s", res.Batch, t.SalesCount, money.Format(t.SalesAmount),
		t.RefundsCount, money.Format(t.RefundsAmount), res.ResponseCode, map[bool]string{true: "BALANCED", false: "OUT OF BALANCE"}[res.Balanced])
	if !res.Balanced {
		return errors.New("settlement did not balance")
	}

	d.act(fmt.Sprintf("9. %s's real-time (D0) credits, net of fees (card %s%%, QR %s%%)", m.Name, money.Format(int64(m.CardFee)), money.Format(int64(m.QRFee))))
	ps, err := lab.Ledger.Postings(ctx, mid, time.Unix(0, 0), time.Now().Add(time.Hour))
	if err != nil {
		return err
	}
	posts := &table{right: []bool{false, false, true, true, true}}
	posts.row("posting", "terminal/STAN", "gross", "fee", "net")
	var postNet int64
	for _, p := range ps {
		g, f, n := SignedPosting(p)
		postNet += n
		posts.row(p.Type, p.EntryKey.TID+"/"+p.EntryKey.STAN, money.Format(g), money.Format(f), money.Format(n))
	}
	posts.row("", "", "", "", strings.Repeat("-", len(money.Format(postNet))))
	posts.row("", "", "", "", money.Format(postNet))
	d.table(posts)
	bal, _ := lab.Ledger.Balance(ctx, mid)
	d.say("   account balance %s", money.FormatGrouped(bal))

	d.act("10. The day's statement")
	s, err := lab.Ledger.Statement(ctx, mid, ledger.Period("day"), time.Now())
	if err != nil {
		return err
	}
	d.say("   %s (%s) %s", s.Name, s.MerchantID, s.From.Format("2006-01-02"))
	d.statement(s)
	if breaches, err := lab.Ledger.Verify(ctx); err != nil || len(breaches) > 0 {
		return fmt.Errorf("ledger verify: %v %v", breaches, err)
	}
	d.say("\nledger verified: every invariant holds. Done.")
	return nil
}

type demo struct {
	ctx     context.Context
	pace    time.Duration
	lab     *Lab
	out     io.Writer
	seen    int
	printed int
}

func (d *demo) say(format string, a ...any) { fmt.Fprintf(d.out, format+"\n", a...) }

func (d *demo) act(title string) {
	if d.pace > 0 {
		select {
		case <-time.After(d.pace):
		case <-d.ctx.Done():
		}
	}
	d.say("\n== %s %s", title, strings.Repeat("=", max(0, 74-len(title))))
}

func (d *demo) outcome(txn *terminal.Txn, err error, want terminal.Status) error {
	if txn == nil {
		return fmt.Errorf("no transaction: %v", err)
	}
	line := fmt.Sprintf("   %s %s %s: %s", txn.Kind, money.Format(txn.Requested), txn.Entry, strings.ToUpper(string(txn.Status)))
	if txn.ResponseCode != "" {
		line += fmt.Sprintf(" (%s %s)", txn.ResponseCode, txn.ResponseText)
	}
	if txn.Reason != "" {
		line += " - " + txn.Reason
	}
	if txn.Settlement != "" {
		line += " - settles " + txn.Settlement
	}
	d.say("%s", line)
	d.say("   display: %q", d.lab.Terminal.Display())
	if txn.Status != want {
		return fmt.Errorf("%s: got %s, expected %s (%v)", txn.Kind, txn.Status, want, err)
	}
	return nil
}

// table prints a laid-out table, indented as the demo's text is.
func (d *demo) table(t *table) {
	for _, ln := range t.lines("   ") {
		d.say("%s", ln)
	}
}

// statement prints the statement's lines and totals so that they add up on
// the page: amounts and nets carry the sign of the money's direction (a
// reversal is negative), a declined line moves nothing, the net column
// adds up to the net, and the totals show every term of the net.
func (d *demo) statement(s ledger.Statement) {
	lines := &table{right: []bool{false, false, false, false, true, false, false, true, true}}
	lines.row("time", "kind", "method", "card / code", "amount", "rc", "settlement", "fee", "net")
	for _, ln := range s.Lines {
		amount := ln.Amount
		if ln.Kind == ledger.KindReversal || ln.Kind == ledger.KindVoid || ln.Kind == ledger.KindRefund {
			amount = -amount
		}
		amt := money.Format(amount)
		if ln.RespCode != "00" {
			amt = "(" + amt + ")" // declined: shown, not counted
		}
		lines.row(ln.Time.Format("15:04:05"), string(ln.Kind), ln.Method, ln.PANMasked, amt, ln.RespCode, ln.Settlement,
			money.Format(ln.Fee), money.Format(ln.Net))
	}
	d.table(lines)
	totals := &table{right: []bool{false, true, false}}
	totals.row("gross", money.Format(s.Gross), fmt.Sprintf("%d approved sales", s.Count))
	totals.row("reversals", money.Format(-s.Reversals), fmt.Sprintf("%d voided or reversed", s.ReversalCount))
	if s.Refunds != 0 || s.RefundCount != 0 {
		totals.row("refunds", money.Format(-s.Refunds), fmt.Sprintf("%d refunds", s.RefundCount))
	}
	totals.row("fees", money.Format(-s.Fees), "")
	totals.row("net", money.Format(s.Net), "= the net column")
	totals.row("", "", "")
	totals.row("settled D0", money.Format(s.SettledD0), "")
	totals.row("pending T+1", money.Format(s.PendingT1), "")
	totals.row("declined", "", fmt.Sprintf("%d (in brackets, not counted)", s.DeclinedCount))
	d.table(totals)
}

// ladder prints the messages since the last call.
func (d *demo) ladder() {
	l := d.lab.Recorder.Ladder()
	for _, e := range l[min(d.seen, len(l)):] {
		d.say("   %s", LadderLine(e))
		for _, f := range LadderFields(e) {
			d.say("                %s", f)
		}
	}
	d.seen = len(l)
}

// receipts prints the receipts printed since the last call.
func (d *demo) receipts() {
	rs := d.lab.Printer.Receipts()
	for _, r := range rs[min(d.printed, len(rs)):] {
		d.say("")
		for _, ln := range strings.Split(strings.TrimRight(r.Text, "\n"), "\n") {
			d.say("      | %-42s |", ln)
		}
	}
	d.printed = len(rs)
}

// LadderLine draws one terminal <-> host message as text: the arrow with
// the message type; LadderFields gives its fields by name.
func LadderLine(e Event) string {
	label := e.MTI
	if n := iso.MTIName(e.MTI); n != "" {
		label += " " + n
	}
	if e.Kind == "iso_in" {
		return fmt.Sprintf("TERMINAL <-- %-40s -- HOST", label)
	}
	return fmt.Sprintf("TERMINAL -- %-40s --> HOST", label)
}

// ladderFields are the fields a ladder names: what the message asks, for
// how much, which one it is, how the card was read, and the answer.
var ladderFields = []int{3, 4, 11, 22, 39, 70}

// LadderFields are the fields of a ladder message as people read them,
// "39 response code = 00 (approved)". Event fields are already masked.
func LadderFields(e Event) []string {
	var out []string
	for _, n := range ladderFields {
		if v := e.Fields[strconv.Itoa(n)]; v != "" {
			out = append(out, iso.DescribeField(e.MTI, n, v))
		}
	}
	return out
}
