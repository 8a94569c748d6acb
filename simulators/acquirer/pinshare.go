package acquirer

import (
	"context"
	"time"

	"github.com/possim/possim/simulators/ledger"
)

// A host alone counts wrong PINs in memory. Hosts sharing a ledger
// (ledger.Shared) count them in it, so a card has its three tries in all,
// not three at each host.

// loadPINTries reads the card's count from a shared ledger; a.lock is held.
func (a *account) loadPINTries(ctx context.Context, led *ledger.Ledger) error {
	if !led.Shared() {
		return nil
	}
	n, err := led.PINTries(ctx, a.ref)
	if err != nil {
		return err
	}
	a.pinTries = n
	return nil
}

// wrongPIN counts a wrong PIN; a.lock is held.
func (a *account) wrongPIN(ctx context.Context, led *ledger.Ledger, now time.Time) error {
	if !led.Shared() {
		a.pinTries++
		return nil
	}
	n, err := led.AddPINTry(ctx, a.ref, now)
	if err != nil {
		return err
	}
	a.pinTries = n
	return nil
}

// rightPIN clears the count; a.lock is held.
func (a *account) rightPIN(ctx context.Context, led *ledger.Ledger, now time.Time) error {
	if a.pinTries == 0 {
		return nil
	}
	a.pinTries = 0
	if !led.Shared() {
		return nil
	}
	return led.SetPINTries(ctx, a.ref, 0, now)
}

// sharePIN writes a card's count after an admin change (a block, a reset)
// to a shared ledger.
func (h *Host) sharePIN(alias string) error {
	a, ok := h.iss().byAlias[alias]
	if !ok || !h.led.Shared() {
		return nil
	}
	a.acquire()
	n := a.pinTries
	a.release()
	return h.led.SetPINTries(context.Background(), a.ref, n, time.Now())
}
