package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// pinSchemaSQL keeps, per card, the wrong PINs entered in a row. A host
// alone keeps them in memory; hosts sharing a ledger count them here, so
// a card's tries are its tries at every host. It is created with the rest
// of the schema; a journal of an earlier version gets it when opened.
const pinSchemaSQL = `
CREATE TABLE IF NOT EXISTS card_pin (
	card_ref TEXT PRIMARY KEY,
	tries    INTEGER NOT NULL,
	time_ns  INTEGER NOT NULL
) WITHOUT ROWID;
`

// PINTries is the number of wrong PINs in a row recorded for the card
// cardRef (0 when none).
func (l *Ledger) PINTries(ctx context.Context, cardRef string) (int, error) {
	pctx, err := point(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	err = l.rdb.QueryRowContext(pctx, "SELECT tries FROM card_pin WHERE card_ref = ?", cardRef).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, l.readErr("reading the PIN tries of a card", err)
	}
	return n, nil
}

// AddPINTry counts a wrong PIN for the card cardRef and returns the count
// with it, once committed. Two hosts counting at once both count.
func (l *Ledger) AddPINTry(ctx context.Context, cardRef string, now time.Time) (int, error) {
	if cardRef == "" {
		return 0, fmt.Errorf("%w: counting a PIN try: no card reference", ErrInvalid)
	}
	var n int
	err := l.do(ctx, func(w *writer) error {
		err := w.conn.QueryRowContext(w.bg, `INSERT INTO card_pin (card_ref, tries, time_ns) VALUES (?, 1, ?)
			ON CONFLICT (card_ref) DO UPDATE SET tries = card_pin.tries + 1, time_ns = excluded.time_ns
			RETURNING tries`, cardRef, now.UnixNano()).Scan(&n)
		if err != nil {
			return l.fileErr("counting a PIN try", err)
		}
		return nil
	})
	return n, err
}

// SetPINTries sets the card's count of wrong PINs: 0 after a right PIN or
// a reset, the most to block its PIN.
func (l *Ledger) SetPINTries(ctx context.Context, cardRef string, tries int, now time.Time) error {
	if cardRef == "" || tries < 0 {
		return fmt.Errorf("%w: setting PIN tries: card reference %q, tries %d", ErrInvalid, cardRef, tries)
	}
	return l.do(ctx, func(w *writer) error {
		var err error
		if tries == 0 {
			_, err = w.conn.ExecContext(w.bg, "DELETE FROM card_pin WHERE card_ref = ?", cardRef)
		} else {
			_, err = w.conn.ExecContext(w.bg, `INSERT INTO card_pin (card_ref, tries, time_ns) VALUES (?, ?, ?)
				ON CONFLICT (card_ref) DO UPDATE SET tries = excluded.tries, time_ns = excluded.time_ns`,
				cardRef, tries, now.UnixNano())
		}
		if err != nil {
			return l.fileErr("setting PIN tries", err)
		}
		return nil
	})
}
