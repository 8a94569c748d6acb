package possimtest

import (
	"testing"

	"github.com/possim/possim/harness"
)

// Lab is a host, the four devices and a terminal joined: the lab `possim
// run` builds for each scenario.
type Lab struct {
	lab  *harness.Lab
	host *Host
	term *Terminal
}

// NewLab builds a lab in t.TempDir(): a host with a fresh ledger, the four
// devices and a terminal powered on and signed on to that host. Its links
// are in memory unless Wired is given. It is closed, and its goroutines
// have ended, before the directory is removed.
func NewLab(t testing.TB, opts ...Option) *Lab {
	t.Helper()
	c := newConfig(opts)
	mode := harness.Virtual
	if c.wired {
		mode = harness.Wired
	}
	dir := t.TempDir() // before Cleanup: removed after the lab is closed
	hl, err := harness.New(t.Context(), harness.Config{Profile: c.profile, Mode: mode, Seed: c.seed, Dir: dir,
		Logger: c.logger, Synchronous: "NORMAL", RequireSignOn: c.requireSignOn})
	if err != nil {
		t.Fatalf("possimtest: lab: %v", err)
	}
	t.Cleanup(func() {
		if err := hl.Close(); err != nil {
			t.Errorf("possimtest: closing the lab: %v", err)
		}
	})
	l := &Lab{lab: hl, term: wrapTerminal(hl),
		host: &Host{h: hl.Host, led: &Ledger{l: hl.Ledger}, reqs: hl.Host.RecordRequests(0)}}
	if c.wired {
		l.host.addr = hl.Host.Addr()
	}
	l.term.start(t, c)
	return l
}

// Host is the lab's host. Its Addr is empty unless the lab is Wired.
func (l *Lab) Host() *Host { return l.host }

// Terminal is the lab's terminal.
func (l *Lab) Terminal() *Terminal { return l.term }

// Devices are the lab's devices. The terminal holds their POS side, so
// their Path is empty.
func (l *Lab) Devices() *Devices { return l.term.dev }

// Harness is the lab itself, for scenarios.UseLab and for what this type
// does not wrap. It is not covered by the stability promise of this
// package.
func (l *Lab) Harness() *harness.Lab { return l.lab }
