package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/possim/possim/money"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/terminal"
	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
	"github.com/possim/possim/virtualdevices/serial"
)

func init() {
	register("terminal", "run the virtual POS terminal against a host", runTerminal)
}

const terminalExample = `possim terminal --host 127.0.0.1:8583 signon
  possim terminal --host 127.0.0.1:8583 sale --items 6901234567892x2,6901234567908 --card visa-credit --entry chip --pin 1234
  possim terminal --host 127.0.0.1:8583 sale --amount 12.34 --card swipe-only --entry swipe
  possim terminal --host 127.0.0.1:8583 qr --amount 45.90 --code 281234567890123456
  possim terminal --host 127.0.0.1:8583 void --stan 3
  possim terminal --host 127.0.0.1:8583 refund --stan 3 --amount 5.00
  possim terminal --host 127.0.0.1:8583 preauth --amount 200 --card visa-credit --pin 1234
  possim terminal --host 127.0.0.1:8583 completion --stan 7 --amount 150
  possim terminal --host 127.0.0.1:8583 sale --amount 10 --card visa-credit --pin 1111,1234 --pin-tries 3
  possim terminal --host 127.0.0.1:8583 settle
  possim terminal --host 127.0.0.1:8583 idle --for 10s --echo-idle 3s
  possim terminal --host 127.0.0.1:8583 --json log
  possim terminal --host 127.0.0.1:8583 --devices ./possim-devices reprint

commands: ` + termCommands + "`"

const termCommands = "signon, sale, qr, void, refund, preauth, completion, settle, idle, log, reprint"

// termFlags holds every flag of possim terminal; global flags may come
// before or after the command.
type termFlags struct {
	host, devices, state, spec, profile string
	dialect                             string
	timeout                             time.Duration
	json, verbose                       bool
	seed                                seedFlag
	// waitHint is how long --devices waits for a card or PIN before it
	// says how to give one.
	waitHint time.Duration

	amount, items, card, entry, pin, method, code, stan string
	signature, acceptPartial, scan                      bool

	pinTries          int           // terminal parameter PINTries
	echoIdle, idleFor time.Duration // terminal parameter EchoIdle; idle --for
}

func runTerminal(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "terminal", terminalExample)
	var f termFlags
	fs.StringVar(&f.host, "host", "", "acquirer host `ADDR` (host:port)")
	fs.StringVar(&f.devices, "devices", "", "device `DIR` of possim devices (cardreader, pinpad, printer, scanner ptys); default: virtual devices in-process")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "host response `TIMEOUT`; no answer in time means a reversal")
	fs.BoolVar(&f.json, "json", false, "print one JSON object")
	fs.StringVar(&f.state, "state", "possim-terminal.json", "terminal state `FILE` (STAN, batch, session, log, pending reversals, queued receipts, card counters); one per terminal ID")
	fs.StringVar(&f.spec, "spec", "possim87", "ISO 8583 spec `NAME` or moov spec file")
	fs.StringVar(&f.dialect, "dialect", "", dialectUsage)
	fs.StringVar(&f.profile, "profile", "", "profile `FILE` (default: the embedded default profile)")
	fs.BoolVar(&f.verbose, "v", false, "show every display text and message on stderr")
	fs.Var(&f.seed, "seed", "seed `N` for the unpredictable numbers (9F37) of chip reads, to replay a run; default: fresh randomness")
	f.waitHint = 5 * time.Second
	fs.StringVar(&f.amount, "amount", "", "`AMOUNT` in major units, 12.34")
	fs.StringVar(&f.items, "items", "", "basket `CODE[xQTY],...` (barcode or product name)")
	fs.StringVar(&f.card, "card", "", "card `ALIAS` of the profile, presented on the virtual reader")
	fs.StringVar(&f.entry, "entry", "chip", "how the card is presented: `chip|tap|swipe`")
	fs.StringVar(&f.pin, "pin", "", "`PIN[,PIN...]` typed on the virtual PIN pad, the next one each time the terminal asks again after an incorrect PIN (none: the cardholder signs)")
	fs.IntVar(&f.pinTries, "pin-tries", 0, "PIN entries the terminal allows per sale: after an incorrect PIN (55) it asks again, up to `N` (0 or 1: no re-entry)")
	fs.DurationVar(&f.echoIdle, "echo-idle", 0, "send an echo test (0800 70=301) when the link was idle this long, `D` (0: none); for idle")
	fs.DurationVar(&f.idleFor, "for", 0, "idle: stay signed on and connected this long, `D`, then exit")
	fs.StringVar(&f.method, "method", "credit", "payment `METHOD`: credit|debit")
	fs.StringVar(&f.code, "code", "", "customer QR payment `CODE`")
	fs.StringVar(&f.stan, "stan", "", "`STAN` of the original transaction")
	fs.BoolVar(&f.signature, "signature", false, "the cardholder signs instead of entering a PIN")
	fs.BoolVar(&f.acceptPartial, "accept-partial", false, "accept a partial approval")
	fs.BoolVar(&f.scan, "scan", false, "read the basket (and a QR payment code) from the scanner; in-process, the --items and --code are scanned on the virtual scanner")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageErr("a command is required: " + termCommands)
	}
	cmd := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q after %s", fs.Arg(0), cmd)
	}
	switch cmd {
	case "signon", "sale", "qr", "void", "refund", "preauth", "completion", "settle", "idle", "log", "reprint":
	default:
		return usageErr("unknown terminal command %q; commands: %s", cmd, termCommands)
	}
	if err := termCheckCaps(cmd, f); err != nil {
		return err
	}
	if f.host == "" && cmd != "log" {
		return usageErr("--host ADDR is required (the acquirer host, e.g. 127.0.0.1:8583)")
	}
	prof := profile.Default()
	if f.profile != "" {
		p, err := profile.Load(f.profile)
		if err != nil {
			return usageErr("%v", err)
		}
		prof = p
	}
	wire, err := loadWire(f.dialect, f.spec)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.timeout <= 0 {
		return usageErr("--timeout must be positive, got %v", f.timeout)
	}

	out := &termOutput{Command: cmd, Currency: prof.Currency}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	if dir := filepath.Dir(f.state); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return usageErr("--state %s: %v", f.state, err)
		}
	}
	saved, err := terminal.FileStore(f.state).Load()
	if err != nil {
		return usageErr("--state: %v", err)
	}
	// Fresh: nothing was ever traded with this state file.
	fresh := saved == nil || len(saved.Log) == 0
	var cardATC map[string]uint16
	if saved != nil {
		cardATC = saved.CardATC
	}

	devs, err := termOpenDevices(f, prof, log, env, out, cardATC)
	if err != nil {
		return err
	}
	defer devs.close()
	var waits *waitNotices
	if f.devices != "" {
		waits = &waitNotices{w: env.Stderr, dir: f.devices, after: f.waitHint}
		defer waits.stop()
	}

	var evMu sync.Mutex
	cfg := terminal.Config{
		Profile:         prof,
		Dialect:         wire,
		ResponseTimeout: f.timeout,
		CardTimeout:     devs.cardTimeout,
		Logger:          log,
		Store:           terminal.FileStore(f.state),
		Printer:         devs.printer,
		Reader:          devs.reader,
		PINPad:          devs.pinpad,
		Scanner:         devs.scanner,
		Params:          terminal.Params{PINTries: f.pinTries, EchoIdle: f.echoIdle},
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return d.DialContext(ctx, "tcp", f.host)
		},
		OnEvent: func(e terminal.Event) {
			evMu.Lock()
			defer evMu.Unlock()
			if waits != nil {
				waits.event(e)
			}
			switch e.Kind {
			case terminal.EventReceipt:
				out.Receipts = append(out.Receipts, e.Text)
			case terminal.EventAlert:
				out.Alerts = append(out.Alerts, e.Text)
			case terminal.EventISOOut:
				if e.MTI == iso.MTINetworkRequest && e.Fields["70"] == iso.NetEcho {
					out.echoes.Add(1)
				}
			case terminal.EventDevice:
				if e.Text == "host link down" {
					out.linkDown.Store(true)
				}
			case terminal.EventDisplay:
				devs.operator(e.Text)
			}
			if f.verbose {
				fmt.Fprintf(env.Stderr, "[%s] %-7s %s %s%s\n", e.State, e.Kind, e.MTI, e.Text, termFields(e.MTI, e.Fields))
			}
		},
	}
	if f.seed.set {
		cfg.Rand = rand.New(rand.NewSource(f.seed.v))
	}
	term, err := terminal.New(cfg)
	if err != nil {
		return usageErr("--state %s: %v", f.state, err)
	}
	defer term.Close()

	runErr := termRun(ctx, term, cmd, f, prof, out)
	out.Hints = termHints(runErr, f, fresh, out.signedOn, term)
	if ctx.Err() != nil && runErr != nil {
		runErr = fmt.Errorf("interrupted: %w", runErr)
		if x := out.Txn; x != nil && x.STAN == "" {
			out.Hints = append(out.Hints, "interrupted (Ctrl-C): nothing was sent to the host")
		} else if x != nil {
			out.Hints = append(out.Hints, "interrupted (Ctrl-C) with STAN "+x.STAN+" under way: see possim terminal log and any pending reversal")
		}
	}
	out.Display = term.Display()
	out.PendingReversals = term.PendingReversals()
	out.Batch = term.Batch()
	if runErr != nil {
		out.Error = runErr.Error()
	}
	out.OK = runErr == nil
	termPrint(env.Stdout, out, f.json)
	return termExit(runErr)
}

// termRun powers the terminal on and runs one command.
func termRun(ctx context.Context, term *terminal.Terminal, cmd string, f termFlags, prof *profile.Profile, out *termOutput) error {
	if cmd == "log" {
		out.Log = term.Log()
		if f.stan != "" {
			x, ok := term.Query(f.stan)
			if !ok {
				return fmt.Errorf("%w: no transaction with STAN %s", terminal.ErrNotFound, f.stan)
			}
			out.Log = []terminal.Txn{x}
		}
		return nil
	}
	st, err := term.PowerOn(ctx)
	out.SelfTest = &st
	if err != nil {
		var ste *terminal.SelfTestError
		if !errors.As(err, &ste) {
			return err
		}
		// The terminal runs degraded; the command says whether that matters.
	}
	amount := func() (int64, error) {
		if f.amount == "" {
			return 0, nil
		}
		v, err := money.ParsePositive(f.amount)
		if err != nil {
			return 0, fmt.Errorf("%w: --amount: %v", terminal.ErrBadRequest, err)
		}
		return v, nil
	}
	switch cmd {
	case "sale", "qr", "void", "refund", "preauth", "completion", "settle", "idle":
		if !term.SignedOn() {
			// A real terminal signs on at power-on when it has no session.
			if err := term.SignOn(ctx); err != nil {
				return fmt.Errorf("signing on at power-on: %w", err)
			}
			out.signedOn = true
			out.Notes = append(out.Notes, fmt.Sprintf("signed on to %s as terminal %s: the state file %s had no session", f.host, term.ID(), f.state))
		}
	}
	switch cmd {
	case "signon":
		return term.SignOn(ctx)
	case "idle":
		return termIdle(ctx, f, out)
	case "sale", "qr":
		a, err := amount()
		if err != nil {
			return err
		}
		items, err := termItems(f.items)
		if err != nil {
			return err
		}
		if (a > 0) == (len(items) > 0) {
			return fmt.Errorf("%w: give --amount or --items", terminal.ErrBadRequest)
		}
		req := terminal.SaleRequest{Items: items, Amount: a, AcceptPartial: f.acceptPartial,
			Signature: f.signature || f.pin == "" && f.devices == ""}
		if f.scan && len(items) > 0 {
			req.Scan = true
			if f.devices == "" {
				for _, it := range items {
					req.ScanCount += it.Qty
				}
			}
		}
		if cmd == "qr" {
			if f.code == "" && !(f.scan && f.devices != "") {
				return fmt.Errorf("%w: qr needs --code PAYCODE (or --scan with --devices)", terminal.ErrBadRequest)
			}
			req.Method, req.PaymentCode = terminal.QR, f.code
			if f.scan {
				req.PaymentCode = ""
			}
		} else {
			switch f.method {
			case "credit":
				req.Method = terminal.Credit
			case "debit":
				req.Method = terminal.Debit
			default:
				return fmt.Errorf("%w: --method %q: want credit or debit", terminal.ErrBadRequest, f.method)
			}
		}
		x, err := term.Sale(ctx, req)
		out.Txn = x
		return err
	case "void":
		if f.stan == "" {
			return fmt.Errorf("%w: void needs --stan N", terminal.ErrBadRequest)
		}
		x, err := term.Void(ctx, f.stan)
		out.Txn = x
		return err
	case "refund":
		a, err := amount()
		if err != nil {
			return err
		}
		x, err := term.Refund(ctx, terminal.RefundRequest{OrigSTAN: f.stan, Amount: a})
		out.Txn = x
		return err
	case "preauth":
		a, err := amount()
		if err != nil {
			return err
		}
		x, err := term.PreAuth(ctx, terminal.PreAuthRequest{Amount: a, Signature: f.signature || f.pin == "" && f.devices == ""})
		out.Txn = x
		return err
	case "completion":
		a, err := amount()
		if err != nil {
			return err
		}
		if f.stan == "" {
			return fmt.Errorf("%w: completion needs --stan N of the pre-authorisation", terminal.ErrBadRequest)
		}
		x, err := term.Completion(ctx, terminal.CompletionRequest{OrigSTAN: f.stan, Amount: a})
		out.Txn = x
		return err
	case "settle":
		res, err := term.Settle(ctx)
		out.Settle = &res
		return err
	case "reprint":
		return term.Reprint(ctx)
	}
	return nil
}

// termItems reads --items CODE[xQTY],...
func termItems(s string) ([]terminal.Item, error) {
	if s == "" {
		return nil, nil
	}
	var out []terminal.Item
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		code, qty := part, 1
		if i := strings.LastIndexAny(part, "xX*"); i > 0 {
			if n, err := strconv.Atoi(part[i+1:]); err == nil {
				code, qty = part[:i], n
			}
		}
		if code == "" || qty <= 0 {
			return nil, fmt.Errorf("%w: --items %q: want CODE[xQTY],...", terminal.ErrBadRequest, part)
		}
		out = append(out, terminal.Item{Code: code, Qty: qty})
	}
	return out, nil
}

// termDevices are the terminal's peripherals and, in virtual mode, the
// virtual devices behind them with an operator who presents the card.
type termDevices struct {
	printer     terminal.Printer
	reader      terminal.CardReader
	pinpad      terminal.PINPad
	scanner     terminal.Scanner
	cardTimeout time.Duration
	operator    func(display string)
	closers     []io.Closer
}

func (d *termDevices) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		_ = d.closers[i].Close()
	}
}

func termOpenDevices(f termFlags, prof *profile.Profile, log *slog.Logger, env *Env, out *termOutput, cardATC map[string]uint16) (*termDevices, error) {
	d := &termDevices{operator: func(string) {}}
	if !f.verbose {
		// In-process devices report link ends at exit; only -v shows them.
		log = slog.New(slog.DiscardHandler)
	}
	if f.devices != "" {
		if f.card != "" || f.pin != "" {
			out.Notes = append(out.Notes, "--card and --pin are ignored with --devices: present the card and type the PIN through the devices' control API")
		}
		open := func(name string) (serial.Port, error) {
			p, err := serial.OpenRaw(filepath.Join(f.devices, name))
			if err != nil {
				return nil, usageErr("--devices %s: %v (is possim devices running?)", f.devices, err)
			}
			d.closers = append(d.closers, p)
			return p, nil
		}
		pp, err := open("printer")
		if err != nil {
			d.close()
			return nil, err
		}
		d.printer = printer.NewDriver(pp)
		rp, err := open("cardreader")
		if err != nil {
			d.close()
			return nil, err
		}
		rd := cardreader.NewDriver(rp, cardreader.DriverConfig{Logger: log})
		d.reader = rd
		d.closers = append(d.closers, rd)
		kp, err := open("pinpad")
		if err != nil {
			d.close()
			return nil, err
		}
		kd := pinpad.NewDriver(kp, pinpad.DriverConfig{Logger: log})
		d.pinpad = kd
		d.closers = append(d.closers, kd)
		// The scanner is optional: without it items are keyed.
		if _, err := os.Stat(filepath.Join(f.devices, "scanner")); err == nil {
			sp, err := open("scanner")
			if err != nil {
				d.close()
				return nil, err
			}
			d.scanner = scanner.NewDriver(sp, nil)
		}
		d.cardTimeout = 60 * time.Second
		return d, nil
	}

	// Virtual devices in this process, joined by in-memory serial links.
	pr := printer.New(printer.Config{Chinese: strings.HasPrefix(prof.Locale, "zh"), Logger: log})
	dev, pos := serial.Pipe()
	pr.Attach(dev)
	d.printer = printer.NewDriver(pos)
	d.closers = append(d.closers, pos, pr)

	// The cards go on counting from where the state file left them: made
	// afresh at each run, they would otherwise repeat their cryptograms.
	cards := cardreader.CardsFromProfile(prof.Cards)
	for i := range cards {
		cards[i].ATC = cardATC[cards[i].Alias]
	}
	reader, err := cardreader.New(cardreader.Config{Cards: cards, IssuerMasterKey: prof.Keys.IMK(), Logger: log})
	if err != nil {
		d.close()
		return nil, usageErr("%v", err)
	}
	dev, pos = serial.Pipe()
	reader.Attach(dev)
	rd := cardreader.NewDriver(pos, cardreader.DriverConfig{Logger: log})
	d.reader = rd
	d.closers = append(d.closers, rd, reader)

	pad, err := pinpad.New(pinpad.Config{MasterKey: prof.Keys.TMK(), Logger: log})
	if err != nil {
		d.close()
		return nil, usageErr("%v", err)
	}
	dev, pos = serial.Pipe()
	pad.Attach(dev)
	kd := pinpad.NewDriver(pos, pinpad.DriverConfig{Logger: log})
	d.pinpad = kd
	d.closers = append(d.closers, kd, pad)
	sc := scanner.New(scanner.Config{Logger: log})
	dev, pos = serial.Pipe()
	sc.Attach(dev)
	d.scanner = scanner.NewDriver(pos, nil)
	d.closers = append(d.closers, pos, sc)

	// The card is already on the reader: a short wait is enough.
	d.cardTimeout = 5 * time.Second

	if f.card != "" {
		if _, err := prof.Card(f.card); err != nil {
			d.close()
			return nil, usageErr("--card: %v", err)
		}
		if err := termPresent(reader, f.entry, f.card); err != nil {
			d.close()
			return nil, err
		}
	}
	pins := termPINs(f.pin)
	if len(pins) > 0 {
		if err := pad.Type(pins[0]); err != nil {
			d.close()
			return nil, usageErr("--pin: %v", err)
		}
	}
	next := 1
	// The operator does what the terminal asks: scan the goods or the
	// payment code, insert a swiped chip card, swipe after a failed chip read.
	d.operator = func(display string) {
		switch display {
		case "SCAN ITEMS":
			items, _ := termItems(f.items)
			for _, it := range items {
				for range it.Qty {
					_ = sc.Scan(it.Code)
				}
			}
			return
		case "SCAN CUSTOMER PAYMENT CODE":
			_ = sc.Scan(f.code)
			return
		case terminal.IncorrectPINText:
			// The cardholder types the next PIN ahead of the prompt to come,
			// or, out of PINs, cancels it.
			if next < len(pins) {
				_ = pad.Type(pins[next])
				next++
			} else if len(pins) > 0 {
				pad.Cancel()
			}
			return
		}
		if f.card == "" {
			return
		}
		switch display {
		case "CHIP CARD - PLEASE INSERT CARD":
			reader.Remove()
			_ = reader.Insert(f.card)
		case "CHIP READ ERROR - SWIPE CARD":
			reader.Remove()
			_ = reader.Swipe(f.card)
		}
	}
	return d, nil
}

func termPresent(r *cardreader.Reader, entry, alias string) error {
	var err error
	switch entry {
	case "chip", "insert":
		err = r.Insert(alias)
	case "tap", "contactless":
		err = r.Tap(alias)
	case "swipe":
		err = r.Swipe(alias)
	default:
		return usageErr("--entry %q: want chip, tap or swipe", entry)
	}
	if err != nil {
		return usageErr("--card %s --entry %s: %v", alias, entry, err)
	}
	return nil
}

// termOutput is what one invocation reports; --json prints it as
// termOutputJSON.
type termOutput struct {
	Command          string                 `json:"command"`
	OK               bool                   `json:"ok"`
	Error            string                 `json:"error,omitempty"`
	Display          string                 `json:"display"`
	SelfTest         *terminal.SelfTest     `json:"self_test,omitempty"`
	Txn              *terminal.Txn          `json:"txn,omitempty"`
	Settle           *terminal.SettleResult `json:"settle,omitempty"`
	Log              []terminal.Txn         `json:"log,omitempty"`
	Receipts         []string               `json:"receipts,omitempty"`
	Alerts           []string               `json:"alerts,omitempty"`
	PendingReversals []terminal.Reversal    `json:"pending_reversals,omitempty"`
	Batch            int                    `json:"batch"`
	Notes            []string               `json:"notes,omitempty"`
	Hints            []string               `json:"hints,omitempty"` // what probably happened, when the answer points at the terminal's state
	Currency         string                 `json:"-"`
	signedOn         bool                   // signed on by this run
	echoes           atomic.Int32           // echo tests sent (0800 70=301), from the terminal's event goroutine
	linkDown         atomic.Bool            // an idle echo went unanswered
}

func termPrint(w io.Writer, o *termOutput, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(newTermOutputJSON(o))
		return
	}
	for _, n := range o.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if o.SelfTest != nil {
		for _, c := range o.SelfTest.Failed() {
			fmt.Fprintf(w, "self test: %s FAILED: %s\n", c.Name, c.Detail)
		}
	}
	for _, r := range o.Receipts {
		fmt.Fprintln(w, strings.Repeat("=", printer.Columns))
		fmt.Fprint(w, r)
	}
	if len(o.Receipts) > 0 {
		fmt.Fprintln(w, strings.Repeat("=", printer.Columns))
	}
	if x := o.Txn; x != nil {
		amount := x.Amount
		if !x.Approved() {
			amount = x.Requested
		}
		cur := firstOf(x.Currency, o.Currency)
		fmt.Fprintf(w, "%s %s: %s %s", strings.ToUpper(string(x.Kind)), x.Status, cur, money.FormatGrouped(amount))
		if x.STAN != "" {
			fmt.Fprintf(w, "  STAN %s", x.STAN)
		} else {
			fmt.Fprint(w, "  (nothing sent to the host)")
		}
		if x.AuthCode != "" {
			fmt.Fprintf(w, "  AUTH %s", x.AuthCode)
		}
		if x.RRN != "" {
			fmt.Fprintf(w, "  RRN %s", x.RRN)
		}
		if x.Settlement != "" {
			fmt.Fprintf(w, "  settlement %s", x.Settlement)
		}
		fmt.Fprintln(w)
		if x.Reason != "" {
			fmt.Fprintln(w, "reason:", x.Reason)
		}
	}
	if s := o.Settle; s != nil {
		fmt.Fprintf(w, "batch %06d: %d sales %s, %d refunds %s; host %s; uploaded %d; balanced %v; next batch %06d\n",
			s.Batch, s.Totals.SalesCount, money.FormatGrouped(s.Totals.SalesAmount), s.Totals.RefundsCount,
			money.FormatGrouped(s.Totals.RefundsAmount), s.ResponseCode, s.Uploaded, s.Balanced, s.NextBatch)
	}
	if o.Command == "log" {
		fmt.Fprintf(w, "%-6s %-6s %-10s %-10s %12s %-16s %-6s %-12s %s\n", "BATCH", "STAN", "KIND", "STATUS", "AMOUNT", "CARD", "AUTH", "RRN", "TIME")
		for _, x := range o.Log {
			fmt.Fprintf(w, "%06d %-6s %-10s %-10s %12s %-16s %-6s %-12s %s\n", x.Batch, x.STAN, x.Kind, x.Status,
				money.FormatGrouped(x.Amount), firstOf(x.MaskedPAN, x.PaymentCode), x.AuthCode, x.RRN, x.Time.Format("2006-01-02 15:04:05"))
		}
	}
	for _, a := range o.Alerts {
		fmt.Fprintln(w, "alert:", a)
	}
	for _, r := range o.PendingReversals {
		fmt.Fprintf(w, "pending reversal of STAN %s (%s), %d attempts\n", r.OrigSTAN, r.Reason, r.Attempts)
	}
	if o.Display != "" {
		fmt.Fprintln(w, "display:", o.Display)
	}
	for _, h := range o.Hints {
		fmt.Fprintln(w, "hint:", h)
	}
}

func firstOf(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

// termFields are a message's fields, already masked, one a line by name:
// "    39 response code = 00 (approved)".
func termFields(mti string, f map[string]string) string {
	if len(f) == 0 {
		return ""
	}
	var b strings.Builder
	if n := iso.MTIName(mti); n != "" {
		b.WriteString(n)
	}
	for i := 2; i <= 128; i++ {
		if v, ok := f[strconv.Itoa(i)]; ok {
			fmt.Fprintf(&b, "\n    %s", iso.DescribeField(mti, i, v))
		}
	}
	return b.String()
}

// termExit maps the outcome to the exit code: 1 for a declined or failed
// transaction, 2 for bad input.
func termExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, terminal.ErrBadRequest), errors.Is(err, terminal.ErrNotFound):
		return usageErr("%v", err)
	case errors.Is(err, flag.ErrHelp):
		return err
	}
	return failErr("%v", err)
}
