package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// atcSchemaSQL keeps, per card, the highest application transaction counter
// (EMV tag 9F36) of a cryptogram the issuer accepted. A chip card counts
// every transaction it makes, so a cryptogram whose counter is not above
// that one was seen before: a replay. It is created with the rest of the
// schema; a journal of an earlier version gets it when opened.
const atcSchemaSQL = `
CREATE TABLE IF NOT EXISTS card_atc (
	card_ref TEXT PRIMARY KEY,
	atc      INTEGER NOT NULL,
	time_ns  INTEGER NOT NULL
) WITHOUT ROWID;
`

// RaiseATC makes atc the last accepted counter of the card cardRef, unless
// a higher one is recorded. It returns at once: the raise is written in the
// committer's next transaction, so it is durable by the time anything
// recorded after it is (a host raises the ATC, then journals the
// authorisation, then answers), and shares that record's commit instead of
// costing one of its own. Close writes a raise no record followed.
func (l *Ledger) RaiseATC(ctx context.Context, cardRef string, atc uint16, now time.Time) error {
	if cardRef == "" {
		return fmt.Errorf("%w: raising an ATC: no card reference", ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	l.atcMu.Lock()
	if r, ok := l.atcs[cardRef]; !ok || int64(atc) > r.atc {
		l.atcs[cardRef] = atcRaise{atc: int64(atc), timeNs: now.UnixNano()}
	}
	l.atcMu.Unlock()
	return nil
}

// atcRaise is a counter RaiseATC was given and the committer has not yet
// written.
type atcRaise struct{ atc, timeNs int64 }

// takeATCs moves the raises waiting since the last transaction into the
// committer's, to be written by flush. Every raise made before a request
// was queued is taken before that request is committed: the committer
// takes them after receiving it.
func (w *writer) takeATCs() {
	w.l.atcMu.Lock()
	defer w.l.atcMu.Unlock()
	for card, r := range w.l.atcs {
		if have, ok := w.atcs[card]; !ok || r.atc > have.atc {
			w.atcs[card] = r
		}
	}
	clear(w.l.atcs)
}

// LastATC is the last accepted counter of the card cardRef; ok is false
// when none was recorded.
func (l *Ledger) LastATC(ctx context.Context, cardRef string) (atc uint16, ok bool, err error) {
	pctx, err := point(ctx)
	if err != nil {
		return 0, false, err
	}
	var v int64
	err = l.rdb.QueryRowContext(pctx, "SELECT atc FROM card_atc WHERE card_ref = ?", cardRef).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, l.readErr("reading the last ATC of a card", err)
	}
	return uint16(v), true, nil
}

// ClaimATC makes atc the last accepted counter of the card cardRef if it is
// above the recorded one, and says whether it was, once committed. Hosts
// sharing a ledger (Shared) check a cryptogram's counter with it: of two
// hosts given the same cryptogram at once, one claims its counter and the
// other finds it a replay.
func (l *Ledger) ClaimATC(ctx context.Context, cardRef string, atc uint16, now time.Time) (bool, error) {
	if cardRef == "" {
		return false, fmt.Errorf("%w: claiming an ATC: no card reference", ErrInvalid)
	}
	var claimed bool
	err := l.do(ctx, func(w *writer) error {
		var v int64
		err := w.conn.QueryRowContext(w.bg, `INSERT INTO card_atc (card_ref, atc, time_ns) VALUES (?,?,?)
			ON CONFLICT (card_ref) DO UPDATE SET atc = excluded.atc, time_ns = excluded.time_ns
			WHERE excluded.atc > card_atc.atc RETURNING atc`, cardRef, int64(atc), now.UnixNano()).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return l.fileErr("claiming the ATC of a card", err)
		}
		claimed = true
		return nil
	})
	return claimed, err
}
