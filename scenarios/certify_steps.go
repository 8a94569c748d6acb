package scenarios

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

// certifySteps is the step set of possim certify: what the host does, what
// the operator is asked to do on the terminal under test, and what the
// wire must show. It is registered only for certify runs; possim run
// never sees it.
func certifySteps() []Step {
	steps := append(append(certifyHostSteps(), certifyOperatorSteps()...), certifyCheckSteps()...)
	return append(steps, certifyCapsSteps()...)
}

// CertifySteps lists the certify step set (docs/certify.md).
func CertifySteps() []Step { return certifySteps() }

// purchase selects a sale: 0200 with processing code 00xxxx.
var purchase = acquirer.Match{MTI: iso.MTIFinancialRequest, ProcCode: iso.ProcPurchase}

func certifyHostSteps() []Step {
	const d = "certify host"
	fault := func(f acquirer.Fault) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := certCaseOf(ctx).s.host.AddFault(f)
			return err
		}
	}
	return []Step{
		{Domain: d, Pattern: `^the host approves every request$`, Example: "Given the host approves every request",
			Help: "No fault, no maintenance: the host decides as its profile says (every case starts so).",
			Fn: func(ctx context.Context) error {
				return certCaseOf(ctx).s.reset()
			}},
		{Domain: d, Pattern: `^the host declines the next sale with "(\d\d)"$`, Example: `Given the host declines the next sale with "51"`,
			Fn: func(ctx context.Context, code string) error {
				return fault(acquirer.Fault{Name: "decline " + code, Match: purchase, Action: acquirer.ActRespond, Code: code})(ctx)
			}},
		{Domain: d, Pattern: `^the host does not answer the next sale$`, Example: "Given the host does not answer the next sale",
			Help: "The host journals the next sale and never answers it: the terminal must reverse it.",
			Fn:   fault(acquirer.Fault{Name: "silent sale", Match: purchase, Action: acquirer.ActDrop})},
		{Domain: d, Pattern: `^the host does not answer the next sale nor the first reversal$`,
			Example: "Given the host does not answer the next sale nor the first reversal",
			Help:    "The reversal stays pending at the terminal, which must repeat it (0401) until answered, before any new transaction.",
			Fn: func(ctx context.Context) error {
				if err := fault(acquirer.Fault{Name: "silent sale", Match: purchase, Action: acquirer.ActDrop})(ctx); err != nil {
					return err
				}
				return fault(acquirer.Fault{Name: "silent reversal", Match: acquirer.Match{MTI: iso.MTIReversal}, Action: acquirer.ActDrop})(ctx)
			}},
		{Domain: d, Pattern: `^the host answers the next sale (\d+) seconds late$`, Example: "Given the host answers the next sale 40 seconds late",
			Help: "The answer comes after the terminal's timeout: the terminal must have reversed the sale already.",
			Fn: func(ctx context.Context, secs int) error {
				return fault(acquirer.Fault{Name: "late sale", Match: purchase, Action: acquirer.ActDelay, Delay: time.Duration(secs) * time.Second})(ctx)
			}},
		{Domain: d, Pattern: `^the host approves the next sale for (\d+\.\d\d) instead$`, Example: "Given the host approves the next sale for 10.00 instead",
			Help: "The approval carries another amount in field 4: the terminal must refuse it and reverse the sale.",
			Fn: func(ctx context.Context, amount string) error {
				v, err := money.ParsePositive(amount)
				if err != nil {
					return err
				}
				return fault(acquirer.Fault{Name: "amount mismatch", Match: purchase, Action: acquirer.ActAmount, Amount: v})(ctx)
			}},
		{Domain: d, Pattern: `^the host is in maintenance$`, Example: "Given the host is in maintenance",
			Help: "Every request is answered 91 (issuer or switch inoperative) until the case ends.",
			Fn: func(ctx context.Context) error {
				certCaseOf(ctx).s.host.SetMaintenance(acquirer.MaintenanceRespond)
				return nil
			}},
		{Domain: d, Pattern: `^the host finds the next settlement out of balance$`, Example: "Given the host finds the next settlement out of balance",
			Help: "The next 0500 is answered 95 whatever the journal says: the terminal must upload its batch (0320) and settle again.",
			Fn:   fault(acquirer.Fault{Name: "out of balance once", Match: acquirer.Match{MTI: iso.MTIReconcile}, Action: acquirer.ActRespond, Code: iso.RCReconcileError})},
	}
}

func certifyOperatorSteps() []Step {
	const d = "certify operator"
	isReq := func(mti, proc string) func(acquirer.Event) bool {
		return func(ev acquirer.Event) bool {
			return ev.MTI == mti && (proc == "" || strings.HasPrefix(ev.Fields["3"], proc))
		}
	}
	sale := want{"a 0200 purchase (field 3 00xxxx)", isReq(iso.MTIFinancialRequest, "00")}
	card := func(op string) func(ctx context.Context, amount, alias, entry, pin string) error {
		return func(ctx context.Context, amount, alias, entry, pin string) error {
			w := sale
			if op == "preauth" {
				w = want{"a 0100 pre-authorisation", isReq(iso.MTIAuthRequest, "")}
			}
			return certCaseOf(ctx).operate(ctx, prompt{Op: op, Amount: amount, Card: alias, Entry: entry, PIN: pin}, w)
		}
	}
	return []Step{
		{Domain: d, Pattern: `^the operator signs the terminal on$`, Example: "When the operator signs the terminal on",
			Fn: func(ctx context.Context) error {
				return certCaseOf(ctx).operate(ctx, prompt{Op: "signon"},
					want{"a 0800 sign-on (field 70 001)", func(ev acquirer.Event) bool { return ev.MTI == iso.MTINetworkRequest && ev.Fields["70"] == "001" }})
			}},
		{Domain: d, Pattern: `^the operator sells (\d+\.\d\d) with card "([^"]+)" by (chip|tap|swipe)(?: with PIN "(\d+)")?$`,
			Example: `When the operator sells 12.34 with card "visa-credit" by chip with PIN "1234"`, Fn: card("sale")},
		{Domain: d, Pattern: `^the operator sells (\d+\.\d\d) with QR payment code "(\d+)"$`,
			Example: `When the operator sells 45.90 with QR payment code "281234567890123456"`,
			Fn: func(ctx context.Context, amount, code string) error {
				return certCaseOf(ctx).operate(ctx, prompt{Op: "qr", Amount: amount, Code: code}, sale)
			}},
		{Domain: d, Pattern: `^the operator voids the last sale$`, Example: "When the operator voids the last sale",
			Help: "The original's STAN is the last sale the host approved (POSSIM_STAN).",
			Fn: func(ctx context.Context) error {
				cc := certCaseOf(ctx)
				orig, err := cc.s.lastApproved(iso.MTIFinancialRequest, "00")
				if err != nil {
					return err
				}
				return cc.operate(ctx, prompt{Op: "void", STAN: orig.Fields["11"]}, want{"a 0200 void (field 3 02xxxx)", isReq(iso.MTIFinancialRequest, "02")})
			}},
		{Domain: d, Pattern: `^the operator refunds (\d+\.\d\d) of the last sale$`, Example: "When the operator refunds 5.00 of the last sale",
			Fn: func(ctx context.Context, amount string) error {
				cc := certCaseOf(ctx)
				orig, err := cc.s.lastApproved(iso.MTIFinancialRequest, "00")
				if err != nil {
					return err
				}
				return cc.operate(ctx, prompt{Op: "refund", Amount: amount, STAN: orig.Fields["11"]}, want{"a 0200 refund (field 3 20xxxx)", isReq(iso.MTIFinancialRequest, "20")})
			}},
		{Domain: d, Pattern: `^the operator pre-authorises (\d+\.\d\d) with card "([^"]+)" by (chip|tap|swipe)(?: with PIN "(\d+)")?$`,
			Example: `When the operator pre-authorises 200.00 with card "visa-credit" by chip with PIN "1234"`, Fn: card("preauth")},
		{Domain: d, Pattern: `^the operator completes the pre-authorisation for (\d+\.\d\d)$`, Example: "When the operator completes the pre-authorisation for 150.00",
			Fn: func(ctx context.Context, amount string) error {
				cc := certCaseOf(ctx)
				orig, err := cc.s.lastApproved(iso.MTIAuthRequest, "")
				if err != nil {
					return err
				}
				return cc.operate(ctx, prompt{Op: "completion", Amount: amount, STAN: orig.Fields["11"]}, want{"a 0220 completion", isReq(iso.MTIAdvice, "")})
			}},
		{Domain: d, Pattern: `^the operator settles the batch$`, Example: "When the operator settles the batch",
			Fn: func(ctx context.Context) error {
				return certCaseOf(ctx).operate(ctx, prompt{Op: "settle"}, want{"a 0500 reconciliation", isReq(iso.MTIReconcile, "")})
			}},
	}
}

// lastApproved is the last request of type mti (field 3 starting with
// proc) the host answered 00 in this run: the original a void, refund or
// completion refers to.
func (s *certifySession) lastApproved(mti, proc string) (acquirer.Event, error) {
	evs := s.log.Query(acquirer.RequestFilter{})
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if ev.Dir != "in" || ev.MTI != mti || !strings.HasPrefix(ev.Fields["3"], proc) {
			continue
		}
		if a, ok := answerOf(evs, ev); ok && a.RespCode == iso.RCApproved {
			return ev, nil
		}
	}
	return acquirer.Event{}, fmt.Errorf("no %s approved by the host in this run: the plan needs an approved one first", mti)
}
