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

// AcceptATC records atc as the last accepted counter of the card cardRef if
// it is above the one recorded, durably, before it returns. accepted is
// false when it is not (the cryptogram is a replay); last is the counter
// recorded before the call (0: none).
func (l *Ledger) AcceptATC(ctx context.Context, cardRef string, atc uint16, now time.Time) (accepted bool, last uint16, err error) {
	if cardRef == "" {
		return false, 0, fmt.Errorf("%w: accepting an ATC: no card reference", ErrInvalid)
	}
	err = l.do(ctx, func(w *writer) error {
		// Set on every run: a group commit that rolls back runs this again.
		accepted, last = false, 0
		var prev int64
		err := w.conn.QueryRowContext(w.bg, "SELECT atc FROM card_atc WHERE card_ref = ?", cardRef).Scan(&prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return l.fileErr("reading the last ATC of a card", err)
		default:
			last = uint16(prev)
		}
		if err == nil && atc <= last {
			return nil
		}
		if _, err := w.conn.ExecContext(w.bg, `INSERT INTO card_atc (card_ref, atc, time_ns) VALUES (?,?,?)
			ON CONFLICT (card_ref) DO UPDATE SET atc = excluded.atc, time_ns = excluded.time_ns`,
			cardRef, int64(atc), now.UnixNano()); err != nil {
			return l.fileErr("recording the ATC of a card", err)
		}
		accepted = true
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	return accepted, last, nil
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
