package acquirer

import (
	"fmt"
	"slices"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// KeyChangeRequired is field 53 (security related control information,
// n16) of an answer that asks the terminal to change its PIN working key:
// positions 1-2 "01" name the PIN key, the rest is zeros. Field 39 keeps
// its own meaning (the sale is approved or declined as usual); the terminal
// sends a key change (0800, 70=101) before its next transaction and gets
// the new key in field 62 of the 0810, under the TMK, as at sign-on.
const KeyChangeRequired = "0100000000000000"

// RequestKeyChange asks terminal tid to change its PIN working key: every
// answer to it (0110, 0210 and the 0810 of an echo) carries field 53 =
// KeyChangeRequired until it sends a key change or signs on again, as an
// acquirer repeats the request until the terminal complies. The error
// lists the profile's terminals when tid is not one of them.
func (h *Host) RequestKeyChange(tid string) error {
	p := h.prof()
	if _, ok := p.Terminal(tid); !ok {
		ids := make([]string, 0, len(p.Terminals))
		for _, t := range p.Terminals {
			ids = append(ids, t.ID)
		}
		return fmt.Errorf("acquirer: key change for terminal %q: not in the profile; valid: %v", tid, ids)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.keyChange == nil {
		h.keyChange = map[string]bool{}
	}
	h.keyChange[tid] = true
	h.log.Info("key change requested", "tid", tid)
	return nil
}

// KeyChangesPending lists, sorted, the terminals asked to change their PIN
// key that have not done it yet.
func (h *Host) KeyChangesPending() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.keyChange))
	for tid := range h.keyChange {
		out = append(out, tid)
	}
	slices.Sort(out)
	return out
}

// flagKeyChange adds field 53 to resp when a key change is pending for
// the terminal of r, and clears the request once the terminal got a new
// key (an approved sign-on or key change). A keychange fault that fired
// for r asks first, as RequestKeyChange does.
func (h *Host) flagKeyChange(r *req, resp *iso8583.Message, p *Fault) {
	if p != nil && p.Action == ActKeyChange {
		if err := h.RequestKeyChange(r.tid); err != nil {
			h.log.Warn("keychange fault", "fault", p.Name, "err", err)
		}
	}
	h.mu.Lock()
	pending := h.keyChange[r.tid]
	h.mu.Unlock()
	if !pending {
		return
	}
	code, _ := resp.GetString(39)
	switch r.mti {
	case iso.MTINetworkRequest:
		switch h.get(r.m, 70) {
		case iso.NetSignOn, iso.NetKeyChange:
			if code == iso.RCApproved {
				h.mu.Lock()
				delete(h.keyChange, r.tid)
				h.mu.Unlock()
				h.log.Info("key changed", "tid", r.tid)
			}
			return
		case iso.NetEcho:
		default:
			return
		}
	case iso.MTIAuthRequest, iso.MTIFinancialRequest:
	default:
		return
	}
	// A spec without field 53 cannot carry the flag; the answer goes
	// unflagged rather than not at all.
	if _, ok := h.spec.Fields[53]; !ok {
		return
	}
	if err := resp.Field(53, KeyChangeRequired); err != nil {
		h.log.Error("flagging key change", "tid", r.tid, "err", err)
	}
}
