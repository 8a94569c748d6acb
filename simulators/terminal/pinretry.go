package terminal

import (
	"context"
	"errors"
	"fmt"

	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/virtualdevices/cardreader"
)

// IncorrectPINText is what the terminal and the PIN pad show when the host
// answered 55 and the cardholder may enter the PIN again.
const IncorrectPINText = "INCORRECT PIN - TRY AGAIN"

// pinReentry asks for the PIN again while the host answers 55 and the
// sale's PIN tries (Params.PINTries) are not used up. Each try is a new
// 0200 with a new STAN and the new PIN block; the card read is kept (the
// host checks the PIN before the cryptogram, so the card's counter is not
// spent by a wrong PIN). It returns the last try, logged like any other
// transaction: the earlier ones stay in the log as declined 55.
func (t *Terminal) pinReentry(ctx context.Context, req SaleRequest, x *Txn, err error, rd cardreader.Read) (*Txn, error) {
	tries := t.Params().PINTries
	for n := 1; n < tries && declinedWith(err, iso.RCIncorrectPIN) && x.CVM == "pin"; n++ {
		if t.cfg.PINPad != nil {
			// The terminal shows IncorrectPINText (declined); the pad
			// shows it until the prompt replaces it, and a pad that
			// cannot show it still prompts.
			_ = t.cfg.PINPad.Display(ctx, "INCORRECT PIN\nTRY AGAIN")
		}
		next := &Txn{Kind: x.Kind, Method: x.Method, Items: x.Items, Requested: x.Requested, PINTry: n + 1}
		pin, perr := t.cvm(ctx, next, rd, x.Requested, false)
		if perr != nil {
			// The cardholder gave up: the sale ends as the last try did.
			return x, fmt.Errorf("%w; PIN entered again: %w", err, perr)
		}
		msg := t.financial(iso.MTIFinancialRequest, iso.ProcPurchase, next)
		t.withCard(&msg, next, rd, pin)
		x, err = t.authorise(ctx, next, msg, &rd, req.AcceptPartial)
	}
	if tries > 1 && declinedWith(err, iso.RCIncorrectPIN) && x.CVM == "pin" {
		t.show("INCORRECT PIN - NO MORE TRIES")
	}
	return x, err
}

func declinedWith(err error, code string) bool {
	var de *DeclineError
	return errors.As(err, &de) && de.Code == code
}
