package acquirer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// wrongDialect refuses (58) a request from a terminal whose profile names
// a dialect other than its listener's: its real counterpart would not be
// routed to this port at all, and answering it would hide a lab wired to
// the wrong listener. The answer goes out in the listener's dialect, so
// the terminal can read it if it can read anything; the log names the
// listeners of the terminal's own dialect. It reports whether it refused.
func (h *Host) wrongDialect(hc *hostConn, r *req) bool {
	want := h.cur.Load().dialects[r.tid]
	got := hc.rd.fr.dialect().Name
	if want == "" || want == got {
		return false
	}
	use := h.listenersOf(want)
	r.why = "terminal speaks " + want + ", listener speaks " + got
	h.warn.Warn("dialect", "terminal on a listener of another dialect: answered 58", "remote", hc.remote,
		"tid", r.tid, "terminal_dialect", want, "listener_dialect", got, "use", use)
	h.send(hc, r, h.response(r, iso.RCNotPermittedTerm), nil)
	return true
}

// listenersOf lists the addresses of the listeners that speak dialect
// name, or "none" when no listener does.
func (h *Host) listenersOf(name string) string {
	h.mu.Lock()
	var addrs []string
	for ln, fr := range h.listeners {
		if fr.dialect().Name == name {
			addrs = append(addrs, ln.Addr().String())
		}
	}
	h.mu.Unlock()
	if len(addrs) == 0 {
		return "none"
	}
	slices.Sort(addrs)
	return strings.Join(addrs, ", ")
}

// terminalDialects maps the terminals whose profile entry names a dialect
// to it; looked up on every request, so most profiles make it empty.
func terminalDialects(p *profile.Profile) map[string]string {
	m := map[string]string{}
	for _, t := range p.Terminals {
		if t.Dialect != "" {
			m[t.ID] = t.Dialect
		}
	}
	return m
}

// CheckProfile reports a terminal of p whose dialect is not a built-in
// one, with the profile's file and line and the valid names. The profile
// package leaves this check here, since it imports nothing of the
// simulators (it is the ground they share).
func CheckProfile(p *profile.Profile) error {
	valid := iso.BuiltinDialects()
	for _, t := range p.Terminals {
		if t.Dialect != "" && !slices.Contains(valid, t.Dialect) {
			return &profile.Error{File: p.Source, Line: t.Line,
				Msg: fmt.Sprintf("terminal %s: unknown dialect %q; valid: %s", t.ID, t.Dialect, strings.Join(valid, ", "))}
		}
	}
	return nil
}
