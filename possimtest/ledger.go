package possimtest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/possim/possim/simulators/ledger"
)

// Ledger is a host's durable journal and its merchants' accounts.
type Ledger struct{ l *ledger.Ledger }

// Statement is a merchant's account of one day: counts, gross, fees, net,
// what settled D0 and T+1, and one line per journal entry.
type Statement = ledger.Statement

// Balance is the merchant's account balance in minor units (fen): what D0
// and cut-off credits put there, less what voids, reversals and refunds
// took back.
func (l *Ledger) Balance(ctx context.Context, merchantID string) (int64, error) {
	return l.l.Balance(ctx, merchantID)
}

// Statement is the merchant's statement of the day that contains day (in
// day's location).
func (l *Ledger) Statement(ctx context.Context, merchantID string, day time.Time) (Statement, error) {
	return l.l.Statement(ctx, merchantID, ledger.Day, day)
}

// Verify checks every invariant of the ledger (balances are the sum of
// their postings, nothing reversed twice, fees add up...) and returns an
// error listing the breaches, or nil when the ledger is consistent.
func (l *Ledger) Verify(ctx context.Context) error {
	bs, err := l.l.Verify(ctx)
	if err != nil {
		return fmt.Errorf("verifying the ledger: %w", err)
	}
	if len(bs) == 0 {
		return nil
	}
	lines := make([]string, len(bs))
	for i, b := range bs {
		lines[i] = b.String()
	}
	return fmt.Errorf("ledger %s breaks %d invariants:\n%s", l.l.Path(), len(bs), strings.Join(lines, "\n"))
}

// Raw is the ledger itself, for what this type does not wrap. It is not
// covered by the stability promise of this package.
func (l *Ledger) Raw() *ledger.Ledger { return l.l }
