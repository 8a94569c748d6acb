package acquirer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/ledger"
)

// The run-time knobs of a running host: what an operator changes without a
// restart. Each applies to the next request; none needs a lock held by the
// caller.

// book is the profile and the card book built from it. The host reads it
// through one atomic pointer, so a reload swaps both at once and a request
// sees either the old pair or the new one, never a mix.
type book struct {
	prof     *profile.Profile
	iss      *issuer
	dialects map[string]string // terminal ID -> the dialect its profile names (dialectcheck.go)
}

func (h *Host) prof() *profile.Profile { return h.cur.Load().prof }
func (h *Host) iss() *issuer           { return h.cur.Load().iss }

// registerMerchants writes the profile's merchants to the ledger. A
// merchant already there keeps its real-time status (run-time state: an
// approval made through the API survives a restart); its name, settlement
// mode, limits and fees are refreshed from the profile.
func (h *Host) registerMerchants(ctx context.Context, p *profile.Profile) error {
	for _, pm := range p.Merchants {
		m := ledger.Merchant{ID: pm.ID, Name: pm.Name, Mode: ledger.SettlementMode(pm.Settlement),
			Realtime: ledger.RealtimeStatus(pm.Realtime), RealtimePerTxn: int64(pm.RealtimePerTxn),
			RealtimeDaily: int64(pm.RealtimeDaily), CardFeeBPS: int64(pm.CardFee), QRFeeBPS: int64(pm.QRFee),
			UnreferencedRefundLimit: int64(pm.UnreferencedRefundLimit)}
		old, err := h.led.Merchant(ctx, pm.ID)
		switch {
		case err == nil:
			m.Realtime = old.Realtime
		case !errors.Is(err, ledger.ErrNotFound):
			return fmt.Errorf("acquirer: reading merchant %s: %w", pm.ID, err)
		}
		if err := h.led.PutMerchant(ctx, m); err != nil {
			return fmt.Errorf("acquirer: registering merchant %s: %w", pm.ID, err)
		}
	}
	return nil
}

// ErrEmbeddedProfile is returned by ReloadProfile when the host runs on
// the embedded default profile: there is no file to read again.
var ErrEmbeddedProfile = errors.New("acquirer: the host runs on the embedded default profile; there is no file to reload (start it with --profile FILE)")

// ReloadProfile reads the profile file path again and serves the next
// request with it: terminals, merchants, keys and the card book. Card
// statuses and PIN tries start again from the file; card usage is read
// again from the ledger. A file that no longer loads is refused and the
// old profile kept. An empty path means the embedded profile
// (ErrEmbeddedProfile).
func (h *Host) ReloadProfile(ctx context.Context, path string) error {
	if path == "" {
		return ErrEmbeddedProfile
	}
	p, err := profile.Load(path)
	if err == nil {
		err = CheckProfile(p)
	}
	if err != nil {
		return fmt.Errorf("acquirer: profile reload refused, old profile kept: %w", err)
	}
	is, err := newIssuer(p, h.cfg.CardRefKey)
	if err != nil {
		return fmt.Errorf("profile reload refused, old profile kept: %w", err)
	}
	if err := h.registerMerchants(ctx, p); err != nil {
		return fmt.Errorf("%w (profile reload refused, old profile kept)", err)
	}
	h.cur.Store(&book{prof: p, iss: is, dialects: terminalDialects(p)})
	h.log.Info("profile reloaded", "file", path, "cards", len(p.Cards), "terminals", len(p.Terminals))
	return nil
}

// CardState is a card of the book as the admin API shows it; the PAN is masked.
type CardState struct {
	Alias     string `json:"alias"`
	PANMasked string `json:"pan_masked"`
	Status    string `json:"status"`
	PINTries  int    `json:"pin_tries"`
	// PINBlocked: the next transaction with a PIN is declined 75.
	PINBlocked bool `json:"pin_blocked"`
}

// Cards lists the card book in profile order.
func (h *Host) Cards() []CardState {
	b := h.cur.Load()
	out := make([]CardState, 0, len(b.prof.Cards))
	for _, c := range b.prof.Cards {
		if a, ok := b.iss.byAlias[c.Alias]; ok {
			out = append(out, a.state())
		}
	}
	return out
}

// Card is one card's state; the error lists the valid aliases.
func (h *Host) Card(alias string) (CardState, error) {
	b := h.cur.Load()
	a, ok := b.iss.byAlias[alias]
	if !ok {
		_, err := b.prof.Card(alias)
		return CardState{}, fmt.Errorf("acquirer: %w", err)
	}
	return a.state(), nil
}

func (a *account) state() CardState {
	a.acquire()
	defer a.release()
	return CardState{Alias: a.alias, PANMasked: a.masked, Status: a.status, PINTries: a.pinTries,
		PINBlocked: a.pinTries >= maxPINTries}
}

// CardStatuses are the statuses SetCardStatus takes.
func CardStatuses() []string { return slices.Clone(cardStatuses) }

// checkAlias returns the profile's error, which lists the valid cards, for
// an alias not in the book.
func (h *Host) checkAlias(alias string) error {
	b := h.cur.Load()
	if _, ok := b.iss.byAlias[alias]; ok {
		return nil
	}
	_, err := b.prof.Card(alias)
	return fmt.Errorf("acquirer: %w", err)
}

// CheckFault says why f cannot be installed: an unknown action or card is
// refused with the valid ones listed.
func (h *Host) CheckFault(f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if f.Match.Alias != "" {
		if err := h.checkAlias(f.Match.Alias); err != nil {
			return fmt.Errorf("fault %q: %w", f.Name, err)
		}
	}
	return nil
}

// AddFault installs f and returns its ID (see CheckFault).
func (h *Host) AddFault(f Fault) (int, error) {
	if err := h.CheckFault(f); err != nil {
		return 0, err
	}
	return h.faults.Add(f)
}

// SetFaults replaces the whole fault table with fs, as a --faults file at
// start would. Nothing changes unless every fault is valid; no request sees
// a table half replaced.
func (h *Host) SetFaults(fs []Fault) ([]Fault, error) {
	for _, f := range fs {
		if err := h.CheckFault(f); err != nil {
			return nil, err
		}
	}
	t := h.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	t.list = t.list[:0:0]
	for _, f := range fs {
		t.next++
		f.ID, f.Hits, f.seen = t.next, 0, 0
		t.list = append(t.list, &f)
	}
	out := make([]Fault, len(t.list))
	for i, f := range t.list {
		out[i] = *f
	}
	return out, nil
}

// RemoveFault deletes the fault with id and reports whether it was there.
func (h *Host) RemoveFault(id int) bool { return h.faults.Remove(id) }

// FaultList returns a copy of the installed faults, in the order they match.
func (h *Host) FaultList() []Fault { return h.faults.List() }
