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

// checkATC accepts the counter of a verified cryptogram or says why it is
// a replay; a.lock is held. Every cryptogram that verifies uses its counter
// up, whatever the rules decide next, as on a real card. The last accepted
// counter is read from the ledger at the card's first chip transaction and
// kept with the account; the new one is queued to the ledger ahead of the
// journal entry of this authorisation, so it is durable before the answer
// leaves.
func (a *account) checkATC(ctx context.Context, led *ledger.Ledger, atc uint16, now time.Time) (code, note string, err error) {
	if led.Shared() {
		// Other hosts check this card's cryptograms too: the ledger
		// decides, so the same cryptogram at two hosts passes once.
		ok, err := led.ClaimATC(ctx, a.ref, atc, now)
		if err != nil {
			return "", "", fmt.Errorf("recording the ATC of card %s: %w", a.masked, err)
		}
		if !ok {
			return RCReplayedCryptogram, fmt.Sprintf("replayed cryptogram: ATC %d is not above the last accepted for this card", atc), nil
		}
		return "", "", nil
	}
	if !a.atcLoaded {
		last, ok, err := led.LastATC(ctx, a.ref)
		if err != nil {
			return "", "", fmt.Errorf("reading the last ATC of card %s: %w", a.masked, err)
		}
		a.atc, a.atcSeen, a.atcLoaded = last, ok, true
	}
	if a.atcSeen && atc <= a.atc {
		return RCReplayedCryptogram, fmt.Sprintf("replayed cryptogram: ATC %d is not above %d, the last accepted for this card", atc, a.atc), nil
	}
	if err := led.RaiseATC(ctx, a.ref, atc, now); err != nil {
		return "", "", fmt.Errorf("recording the ATC of card %s: %w", a.masked, err)
	}
	a.atc, a.atcSeen = atc, true
	return "", "", nil
}

// noteDecision logs why the issuer rules declined, when that needs more
// than the response code.
func (h *Host) noteDecision(r *req, a *account, d decision) {
	if d.note != "" {
		h.log.Warn("declined", "code", d.code, "card", a.masked, "tid", r.tid, "stan", r.stan, "why", d.note)
	}
}
