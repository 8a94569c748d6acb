package possimtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

// Fault is one programmed misbehaviour of the host: a decline, a delay, a
// dropped or garbled answer. Its fields are those of a --faults file
// (docs/host.md), which is why the type is part of this package's promise
// although it lives in the acquirer package.
type Fault = acquirer.Fault

// FaultMatch says which requests a Fault applies to; empty fields match
// anything.
type FaultMatch = acquirer.Match

// The fault actions, as in a --faults file.
const (
	FaultRespond     = acquirer.ActRespond
	FaultDelay       = acquirer.ActDelay
	FaultDrop        = acquirer.ActDrop
	FaultClose       = acquirer.ActClose
	FaultReset       = acquirer.ActReset
	FaultAmount      = acquirer.ActAmount
	FaultPartial     = acquirer.ActPartial
	FaultDuplicate   = acquirer.ActDuplicate
	FaultWrongSTAN   = acquirer.ActWrongSTAN
	FaultGarble      = acquirer.ActGarble
	FaultMaintenance = acquirer.ActMaintenance
)

// Host is a mock acquirer listening on loopback, with its own ledger.
type Host struct {
	h    *acquirer.Host
	led  *Ledger
	reqs *acquirer.RequestLog
	addr string
}

// NewHost starts a mock acquirer on 127.0.0.1 with a fresh SQLite ledger
// in t.TempDir(). It is closed, and its goroutines have ended, when the
// test and its subtests finish.
func NewHost(t testing.TB, opts ...Option) *Host {
	t.Helper()
	c := newConfig(opts)
	dir := t.TempDir() // before Cleanup: removed after the host is closed
	ctx := context.Background()
	led, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.Options{
		Logger: c.logger.With("part", "ledger"), Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("possimtest: host ledger: %v", err)
	}
	h, err := acquirer.New(ctx, acquirer.Config{Profile: c.profile, Ledger: led,
		Logger: c.logger.With("part", "host"), Rand: rand.New(rand.NewPCG(c.seed, 1)),
		RequireSignOn: c.requireSignOn})
	if err != nil {
		led.Close()
		t.Fatalf("possimtest: host: %v", err)
	}
	host := &Host{h: h, led: &Ledger{l: led}, reqs: h.RecordRequests(0)}
	t.Cleanup(func() {
		if err := host.close(); err != nil {
			t.Errorf("possimtest: closing the host: %v", err)
		}
	})
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("possimtest: host: %v", err)
	}
	host.addr = h.Addr()
	return host
}

func (h *Host) close() error {
	herr := h.h.Close()
	lerr := h.led.l.Close()
	if herr != nil {
		return herr
	}
	return lerr
}

// Addr is the host's HOST:PORT on loopback; empty for the host of a lab
// that is not Wired.
func (h *Host) Addr() string { return h.addr }

// SetFault installs f and returns its ID for ClearFault. A one-shot fault
// removes itself once it fires; a Sticky one stays. An unknown action or
// card is refused with the valid ones listed.
func (h *Host) SetFault(f Fault) (int, error) { return h.h.AddFault(f) }

// ClearFault removes the fault with id and reports whether it was there.
func (h *Host) ClearFault(id int) bool { return h.h.RemoveFault(id) }

// ClearFaults removes every fault.
func (h *Host) ClearFaults() {
	// SetFaults only fails on an invalid fault, and there is none.
	_, _ = h.h.SetFaults(nil)
}

// Faults lists the installed faults, with how often each has fired.
func (h *Host) Faults() []Fault { return h.h.FaultList() }

// SetCardStatus sets a card of the profile to active, lost, stolen,
// expired, restricted, blocked or pin_blocked; the next transaction with
// it is decided accordingly. The error lists the valid cards and statuses.
func (h *Host) SetCardStatus(alias, status string) error {
	// The host's own error names neither the cards nor the statuses.
	if _, err := h.h.Card(alias); err != nil {
		return fmt.Errorf("setting a card status: %w", err)
	}
	if valid := acquirer.CardStatuses(); !slices.Contains(valid, status) {
		return fmt.Errorf("card %s: unknown status %q; valid: %s", alias, status, strings.Join(valid, ", "))
	}
	if err := h.h.SetCardStatus(alias, status); err != nil {
		return fmt.Errorf("card %s status %q: %w", alias, status, err)
	}
	return nil
}

// Maintenance puts the host in maintenance mode: "respond91" answers every
// request 91 (issuer unavailable), "refuse" closes every connection and
// refuses new ones, "off" serves again.
func (h *Host) Maintenance(mode string) error {
	m, err := acquirer.ParseMaintenance(mode)
	if err != nil {
		return fmt.Errorf("possimtest: %w", err)
	}
	h.h.SetMaintenance(m)
	return nil
}

// SignedOn says whether the terminal tid has signed on.
func (h *Host) SignedOn(tid string) bool { return h.h.SignedOn(tid) }

// Requests are the messages the host received and what it answered, oldest
// first, card data masked, each field named. It keeps the last 10,000
// messages.
func (h *Host) Requests() []Exchange { return exchanges(h.reqs.Query(acquirer.RequestFilter{})) }

// Ledger is the host's journal and merchant accounts.
func (h *Host) Ledger() *Ledger { return h.led }

// Acquirer is the host itself, for what this package does not wrap. It is
// not covered by the stability promise of this package.
func (h *Host) Acquirer() *acquirer.Host { return h.h }
