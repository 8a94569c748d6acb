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
// a higher one is recorded. It returns once the write is queued, not
// committed: the committer keeps the order of its queue, so the write is
// durable by the time anything recorded after it is (a host raises the ATC,
// then journals the authorisation, then answers). A failure of the write
// itself is logged.
func (l *Ledger) RaiseATC(ctx context.Context, cardRef string, atc uint16, now time.Time) error {
	if cardRef == "" {
		return fmt.Errorf("%w: raising an ATC: no card reference", ErrInvalid)
	}
	r := &request{done: make(chan struct{}, 1), op: func(w *writer) error {
		_, err := w.conn.ExecContext(w.bg, `INSERT INTO card_atc (card_ref, atc, time_ns) VALUES (?,?,?)
			ON CONFLICT (card_ref) DO UPDATE SET atc = excluded.atc, time_ns = excluded.time_ns
			WHERE excluded.atc > card_atc.atc`, cardRef, int64(atc), now.UnixNano())
		if err != nil {
			err = l.fileErr("recording the ATC of a card", err)
			l.log.Error("ledger: ATC not recorded", "err", err)
		}
		return err
	}}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
