package acquirer

import (
	"context"
	"fmt"
	"time"

	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// RCReplayedCryptogram answers a chip transaction whose application
// transaction counter (9F36) is not above the last one the issuer accepted
// for the card: the cryptogram was seen before, or made before one that
// was, so it is a replay. ISO 8583:1987 63 is "security violation".
const RCReplayedCryptogram = iso.RCSecurityViolation

// checkATC accepts the counter of a verified cryptogram, durably, or says
// why it is a replay; a.lock is held. Every cryptogram that verifies uses
// its counter up, whatever the rules decide next, as on a real card.
func (a *account) checkATC(ctx context.Context, led *ledger.Ledger, atc uint16, now time.Time) (code, note string, err error) {
	ok, last, err := led.AcceptATC(ctx, a.ref, atc, now)
	if err != nil {
		return "", "", fmt.Errorf("checking the ATC of card %s: %w", a.masked, err)
	}
	if !ok {
		return RCReplayedCryptogram, fmt.Sprintf("replayed cryptogram: ATC %d is not above %d, the last accepted for this card", atc, last), nil
	}
	return "", "", nil
}

// noteDecision logs why the issuer rules declined, when that needs more
// than the response code.
func (h *Host) noteDecision(r *req, a *account, d decision) {
	if d.note != "" {
		h.log.Warn("declined", "code", d.code, "card", a.masked, "tid", r.tid, "stan", r.stan, "why", d.note)
	}
}
