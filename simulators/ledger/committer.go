package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// writer is the committer's state. Only the committer goroutine touches it
// after Open, so its caches need no lock; they hold committed state plus the
// effects of the open transaction, and are reloaded when one rolls back.
type writer struct {
	l    *Ledger
	conn conn
	// bg is the context of every statement the committer runs. It has no Done
	// channel on purpose: a caller giving up must not tear a group commit, and
	// the driver starts a watcher goroutine per call for a cancellable one.
	bg context.Context
	st writeStmts

	merchants map[string]Merchant
	// locked are the merchants whose rows the open transaction holds
	// (PostgreSQL, see lockMerchant).
	locked map[string]bool
	d0used map[d0Key]int64  // D0-credited gross per merchant and day
	d0base map[d0Key]d0Base // PostgreSQL: the committed part of d0used, see d0UsedShared
	// Balance and card-usage changes of the open transaction, written by
	// flush just before it commits.
	balances map[string]int64
	cards    map[cardDay]cardDelta
	// atcs are the card counters RaiseATC gave (takeATCs), written by
	// flush and kept until a transaction carrying them commits.
	atcs map[string]atcRaise
	// orphans are approved reversals whose original is not journaled, by
	// the original's key, waiting for it.
	orphans map[Key]orphan
	batch   []*request
	pre     prefetch // PostgreSQL: what the record being journaled locked and read

	commits atomic.Int64 // transactions committed
	records atomic.Int64 // requests committed
}

type d0Key struct {
	merchant string
	day      int64 // Unix ns of the day's first instant
}

// writeStmts are prepared once on the committer's connection.
type writeStmts struct {
	begin, commit, rollback *sql.Stmt

	insEntry, selEntry, selOrig, selByID  *sql.Stmt
	setUndone, clearUndone, setOrigID     *sql.Stmt
	insPosting, closePending, addBalance  *sql.Stmt
	selOrigin, selByEntry, sumD0, upsCard *sql.Stmt
	sumRefunded, lockMerchant, lockKey    *sql.Stmt
	selOrphan, selCard, selMerchant       *sql.Stmt
	sumD0Since, lockKey2, insEntryOrphan  *sql.Stmt
	upsATC                                *sql.Stmt
}

func (l *Ledger) startWriter(ctx context.Context) (*writer, error) {
	c, err := l.wdb.Conn(ctx)
	if err != nil {
		return nil, l.fileErr("opening", err)
	}
	w := &writer{l: l, conn: conn{c, l.d}, bg: context.Background(), d0used: map[d0Key]int64{}, d0base: map[d0Key]d0Base{},
		balances: map[string]int64{}, cards: map[cardDay]cardDelta{}, atcs: map[string]atcRaise{}, locked: map[string]bool{}, orphans: map[Key]orphan{}}
	if err := w.init(ctx); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// migrate adds the columns a file of an older version lacks.
func (w *writer) migrate(ctx context.Context) error {
	for _, m := range migrations {
		var n int
		if err := w.conn.QueryRowContext(ctx, w.l.d.columnsQuery(), m.table, m.column).Scan(&n); err != nil {
			return fmt.Errorf("reading the columns of %s: %w", m.table, err)
		}
		if n > 0 {
			continue
		}
		if _, err := w.conn.ExecContext(ctx, w.l.d.schema(m.sql)); err != nil {
			return fmt.Errorf("adding %s.%s: %w", m.table, m.column, err)
		}
		w.l.log.Info("ledger migrated", "path", w.l.path, "added", m.table+"."+m.column)
	}
	return nil
}

func (w *writer) init(ctx context.Context) error {
	l := w.l
	var err error
	if l.d.pg {
		err = w.initPostgres(ctx)
	} else {
		err = w.initSQLite(ctx)
	}
	if err != nil {
		return err
	}
	if err := w.prepare(ctx); err != nil {
		return err
	}
	if err := w.loadMerchants(ctx); err != nil {
		return l.fileErr("loading merchants", err)
	}
	if err := w.loadOrphans(ctx); err != nil {
		return l.fileErr("loading pending reversals", err)
	}
	return nil
}

func (w *writer) initSQLite(ctx context.Context) error {
	l := w.l
	rows, err := w.conn.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return l.fileErr("checking", err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return l.fileErr("checking", err)
		}
		if s != "ok" && len(problems) < 5 {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return l.fileErr("checking", err)
	}
	rows.Close()
	if len(problems) > 0 {
		return fmt.Errorf("ledger %s: %w: quick_check: %s", l.path, ErrCorrupt, strings.Join(problems, "; "))
	}

	var version int
	if err := w.conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return l.fileErr("reading schema version", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("ledger %s: schema version %d is newer than this program's %d", l.path, version, schemaVersion)
	}
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return l.fileErr("creating schema", err)
	}
	_, err = w.conn.ExecContext(ctx, schemaSQL+atcSchemaSQL+pinSchemaSQL)
	if err == nil {
		err = w.migrate(ctx)
	}
	if err == nil {
		_, err = w.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d; COMMIT", schemaVersion))
	}
	if err != nil {
		w.conn.ExecContext(ctx, "ROLLBACK")
		return l.fileErr("creating schema", err)
	}
	return nil
}

// prepare prepares the committer's statements on its connection.
func (w *writer) prepare(ctx context.Context) error {
	l := w.l
	var err error
	forUpdate := ""
	if l.d.pg && !l.opts.Serializable {
		// Locks the original, so two hosts undoing or refunding it
		// take turns and the second sees what the first did.
		forUpdate = " FOR UPDATE"
	}
	prep := func(dst **sql.Stmt, q string) {
		if err != nil {
			return
		}
		*dst, err = w.conn.PrepareContext(ctx, q)
	}
	s := &w.st
	prep(&s.begin, l.d.begin(l.opts.Serializable))
	prep(&s.commit, "COMMIT")
	prep(&s.rollback, "ROLLBACK")
	// SQLite's RETURNING runs the insert into a temporary table first;
	// its Exec result carries the new rowid without that (insertEntry).
	returning := ""
	if l.d.pg {
		returning = " RETURNING id"
	}
	prep(&s.insEntry, `INSERT INTO entries (tid, stan, date, cls, mti, proc, kind, merchant, pan, card_ref, method,
		amount, currency, resp, auth, rrn, batch, orig_tid, orig_stan, orig_date, orig_id, time_ns)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (tid, stan, date, cls) DO NOTHING`+returning)
	prep(&s.selEntry, "SELECT "+entryCols+" FROM entries WHERE tid = ? AND stan = ? AND date = ? AND cls = ?")
	prep(&s.selOrig, `SELECT `+origCols+` FROM entries
		WHERE tid = ? AND stan = ? AND date = ? AND kind NOT IN ('reversal', 'balance')
		ORDER BY resp = '00' DESC, id LIMIT 1`+forUpdate)
	prep(&s.selByID, `SELECT `+origCols+` FROM entries WHERE id = ?`)
	prep(&s.sumRefunded, `SELECT COALESCE(SUM(amount), 0) FROM entries WHERE kind = 'refund' AND resp = '00'
		AND undone_by IS NULL AND orig_tid = ? AND orig_stan = ? AND orig_date = ?`)
	prep(&s.setUndone, "UPDATE entries SET undone_by = ? WHERE id = ?")
	prep(&s.clearUndone, "UPDATE entries SET undone_by = NULL WHERE id = ?")
	prep(&s.setOrigID, "UPDATE entries SET orig_id = ? WHERE id = ?")
	prep(&s.insPosting, `INSERT INTO postings (merchant, entry_id, origin, type, gross, fee, net, bps, time_ns, ref, open)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`)
	prep(&s.closePending, "UPDATE postings SET open = 0 WHERE id = ? AND open = 1")
	prep(&s.addBalance, "UPDATE merchants SET balance = balance + ? WHERE id = ?")
	prep(&s.selOrigin, "SELECT id, merchant, type, gross, fee, net, bps, open FROM postings WHERE origin = ? ORDER BY id")
	prep(&s.selByEntry, "SELECT id, merchant, origin, type, gross, fee, net, bps FROM postings WHERE entry_id = ? ORDER BY id")
	prep(&s.sumD0, `SELECT COALESCE(SUM(gross), 0) FROM postings
		WHERE merchant = ? AND type = 'd0_credit' AND time_ns >= ? AND time_ns < ?`)
	prep(&s.upsCard, `INSERT INTO card_days (card_ref, day, debit_count, debit_amount, credit_amount) VALUES (?,?,?,?,?)
		ON CONFLICT (card_ref, day) DO UPDATE SET debit_count = card_days.debit_count + excluded.debit_count,
		debit_amount = card_days.debit_amount + excluded.debit_amount,
		credit_amount = card_days.credit_amount + excluded.credit_amount`)
	prep(&s.selCard, `SELECT COALESCE(SUM(debit_amount - credit_amount), 0),
		COALESCE(SUM(CASE WHEN day = ?2 THEN debit_count END), 0) FROM card_days WHERE card_ref = ?1`)
	prep(&s.upsATC, `INSERT INTO card_atc (card_ref, atc, time_ns) VALUES (?,?,?)
		ON CONFLICT (card_ref) DO UPDATE SET atc = excluded.atc, time_ns = excluded.time_ns
		WHERE excluded.atc > card_atc.atc`)
	if l.d.pg {
		prep(&s.lockMerchant, "SELECT "+merchantCols+" FROM merchants WHERE id = ? FOR UPDATE")
		prep(&s.selMerchant, "SELECT "+merchantCols+" FROM merchants WHERE id = ?")
		prep(&s.sumD0Since, `SELECT COALESCE(SUM(gross), 0), COALESCE(MAX(id), 0) FROM postings
			WHERE merchant = ? AND type = 'd0_credit' AND id > ? AND time_ns >= ? AND time_ns < ?`)
		prep(&s.lockKey, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))")
		prep(&s.lockKey2, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0)), pg_advisory_xact_lock(hashtextextended(?, 0))")
		prep(&s.insEntryOrphan, `WITH ins AS (INSERT INTO entries (tid, stan, date, cls, mti, proc, kind, merchant, pan,
			card_ref, method, amount, currency, resp, auth, rrn, batch, orig_tid, orig_stan, orig_date, orig_id, time_ns)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (tid, stan, date, cls) DO NOTHING RETURNING id)
			SELECT ins.id, o.id, o.tid, o.stan, o.date FROM ins LEFT JOIN LATERAL (SELECT id, tid, stan, date FROM entries
				WHERE kind = 'reversal' AND resp = '00' AND orig_id IS NULL
				AND COALESCE(orig_tid, tid) = ? AND COALESCE(orig_stan, stan) = ? AND COALESCE(orig_date, date) = ?
				ORDER BY id LIMIT 1) o ON true`)
		prep(&s.selOrphan, `SELECT id, tid, stan, date FROM entries
			WHERE kind = 'reversal' AND resp = '00' AND orig_id IS NULL
			AND COALESCE(orig_tid, tid) = ? AND COALESCE(orig_stan, stan) = ? AND COALESCE(orig_date, date) = ?
			ORDER BY id LIMIT 1`)
	}
	if err != nil {
		return l.fileErr("preparing statements", err)
	}
	return nil
}

type orphan struct {
	id  int64
	key Key // the reversal's own key
}

func (w *writer) loadOrphans(ctx context.Context) error {
	if w.l.d.pg {
		return nil // looked up in the journal, where other hosts' are too (findOrphan)
	}
	rows, err := w.conn.QueryContext(ctx, `SELECT r.id, r.tid, r.stan, r.date,
		COALESCE(r.orig_tid, r.tid), COALESCE(r.orig_stan, r.stan), COALESCE(r.orig_date, r.date)
		FROM entries r WHERE r.kind = 'reversal' AND r.resp = '00' AND r.orig_id IS NULL AND NOT EXISTS (
			SELECT 1 FROM entries o WHERE o.tid = COALESCE(r.orig_tid, r.tid) AND o.stan = COALESCE(r.orig_stan, r.stan)
			AND o.date = COALESCE(r.orig_date, r.date) AND o.kind NOT IN ('reversal', 'balance'))`)
	if err != nil {
		return err
	}
	defer rows.Close()
	waiting := map[Key]orphan{}
	for rows.Next() {
		var o orphan
		var k Key
		if err := rows.Scan(&o.id, &o.key.TID, &o.key.STAN, &o.key.Date, &k.TID, &k.STAN, &k.Date); err != nil {
			return err
		}
		waiting[k] = o
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w.orphans = waiting
	return nil
}

func (w *writer) loadMerchants(ctx context.Context) error {
	rows, err := w.conn.QueryContext(ctx, "SELECT "+merchantCols+" FROM merchants")
	if err != nil {
		return err
	}
	defer rows.Close()
	ms := map[string]Merchant{}
	for rows.Next() {
		m, err := scanMerchant(rows)
		if err != nil {
			return err
		}
		ms[m.ID] = m
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w.merchants = ms
	return nil
}

// close releases the statements and the connection; the committer must have
// stopped.
func (w *writer) close() error {
	w.closeStmts()
	if w.conn.Conn == nil {
		return nil // PostgreSQL went away and did not come back
	}
	if !w.l.d.pg {
		// A checkpoint on close keeps the WAL file from outliving the ledger.
		w.conn.ExecContext(w.bg, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return w.conn.Close()
}

func (w *writer) closeStmts() {
	for _, s := range []*sql.Stmt{w.st.begin, w.st.commit, w.st.rollback, w.st.insEntry, w.st.selEntry,
		w.st.selOrig, w.st.selByID, w.st.setUndone, w.st.clearUndone, w.st.setOrigID, w.st.insPosting, w.st.closePending,
		w.st.addBalance, w.st.selOrigin, w.st.selByEntry, w.st.sumD0, w.st.upsCard, w.st.sumRefunded,
		w.st.lockMerchant, w.st.lockKey, w.st.selOrphan, w.st.selCard, w.st.selMerchant, w.st.sumD0Since, w.st.lockKey2, w.st.insEntryOrphan, w.st.upsATC} {
		if s != nil {
			s.Close()
		}
	}
	w.st = writeStmts{}
}

// maxYields is how often the committer yields to let a batch fill.
const maxYields = 1

// run is the committer: it takes the first waiting request, adds whatever
// else is queued (up to MaxBatch), commits them in one transaction and wakes
// every caller. Under load the queue refills while a commit is in its fsync,
// so batches grow by themselves; an idle ledger commits each record at once.
func (l *Ledger) run() {
	defer close(l.done)
	w := l.w
	for r := range l.reqs {
		batch := append(w.batch[:0], r)
		// When the queue runs dry, yield once so that handlers already
		// runnable can enqueue: on a busy host this grows the batch, and
		// with it the records each fsync carries, at the cost of a
		// scheduler round rather than a timer; an idle ledger finds
		// nobody and commits at once.
		for yields := 0; len(batch) < l.opts.MaxBatch; {
			select {
			case r, ok := <-l.reqs:
				if !ok {
					yields = maxYields
					break
				}
				batch = append(batch, r)
				continue
			default:
			}
			if yields >= maxYields {
				break
			}
			yields++
			runtime.Gosched()
		}
		w.takeATCs()
		w.commitBatch(batch)
		for i := range batch {
			batch[i].done <- struct{}{}
			batch[i] = nil
		}
		w.batch = batch
	}
	// Raises no record followed since the last commit.
	if w.takeATCs(); len(w.atcs) > 0 {
		w.commitBatch(nil)
	}
}

// commitBatch applies every request in one transaction. A request refused
// for bad input (ErrInvalid, ErrNotFound) has written nothing and does not
// spoil the others; any other failure rolls the batch back and replays each
// request in a transaction of its own, so one bad record costs only itself.
func (w *writer) commitBatch(batch []*request) {
	if err := w.begin(); err != nil {
		err = w.l.fileErr("starting a transaction", err)
		for _, r := range batch {
			r.err = err
		}
		w.reconnect()
		return
	}
	ok := true
	for _, r := range batch {
		if r.err = w.apply(r); r.err != nil && !refused(r.err) {
			ok = false
			break
		}
	}
	if ok {
		ok = w.flush() == nil
	}
	if ok {
		if _, err := w.st.commit.ExecContext(w.bg); err == nil {
			w.commits.Add(1)
			w.records.Add(int64(len(batch)))
			clear(w.atcs)
			return
		}
	}
	w.abort()
	w.atcsAlone()
	if len(batch) == 1 {
		w.single(batch[0])
		return
	}
	if len(batch) == 0 {
		return
	}
	w.l.log.Warn("ledger: group commit failed, replaying one by one", "records", len(batch))
	for _, r := range batch {
		w.single(r)
	}
}

// atcsAlone writes the card counters of a failed group commit in a
// transaction of their own, before its records are replayed one by one, so
// a counter that cannot be written fails only itself: it is logged and
// dropped (the card's next cryptogram is then checked against the counter
// before it).
func (w *writer) atcsAlone() {
	if len(w.atcs) == 0 {
		return
	}
	err := w.begin()
	if err == nil {
		if err = w.flush(); err == nil {
			_, err = w.st.commit.ExecContext(w.bg)
		}
		if err != nil {
			w.abort()
		}
	}
	if err != nil {
		w.l.log.Error("ledger: card counters not recorded", "cards", len(w.atcs), "err", w.l.fileErr("recording ATCs", err))
	} else {
		w.commits.Add(1)
	}
	clear(w.atcs)
}

// maxRetries is how often single runs a transaction again that PostgreSQL
// aborted for a deadlock or a serialization failure with another host's.
const maxRetries = 30

func (w *writer) single(r *request) {
	for try := 1; ; try++ {
		err := w.once(r)
		if err == nil || !retryable(err) || try == maxRetries {
			return
		}
		w.l.log.Info("ledger: transaction retried", "try", try, "err", err)
		// A random pause, growing, so the two hosts' retries stop
		// meeting; a host's other requests wait meanwhile.
		time.Sleep(time.Duration(try) * time.Duration(500+rand.IntN(1500)) * time.Microsecond)
	}
}

// once runs r in a transaction of its own and returns the failure that
// rolled it back, if any.
func (w *writer) once(r *request) error {
	r.res, r.err = Result{}, nil
	if err := w.begin(); err != nil {
		r.err = w.l.fileErr("starting a transaction", err)
		w.reconnect()
		return err
	}
	if r.err = w.apply(r); r.err != nil && !refused(r.err) {
		w.abort()
		r.res = Result{}
		return r.err
	}
	err := w.flush()
	if err == nil {
		_, err = w.st.commit.ExecContext(w.bg)
	}
	if err != nil {
		w.abort()
		r.res, r.err = Result{}, w.l.fileErr("committing", err)
		return err
	}
	w.commits.Add(1)
	w.records.Add(1)
	clear(w.atcs)
	return nil
}

// begin starts a transaction. On PostgreSQL what the committer knows of
// other hosts' writes is only good inside one: the merchants' D0 totals
// are read again under the merchant's row lock.
func (w *writer) begin() error {
	if w.st.begin == nil {
		return fmt.Errorf("no connection to the database")
	}
	if w.l.d.pg {
		clear(w.locked)
		clear(w.d0used)
	}
	_, err := w.st.begin.ExecContext(w.bg)
	return err
}

// abort rolls back and drops the caches, which may hold the rolled-back
// transaction's effects.
func (w *writer) abort() {
	if w.st.rollback != nil {
		w.st.rollback.ExecContext(w.bg) // fails harmlessly when SQLite already rolled back
	}
	clear(w.d0used)
	clear(w.balances)
	clear(w.cards)
	if err := w.loadMerchants(w.bg); err != nil {
		w.l.log.Error("ledger: reloading merchants after rollback", "err", err)
	}
	if err := w.loadOrphans(w.bg); err != nil {
		w.l.log.Error("ledger: reloading pending reversals after rollback", "err", err)
	}
}

func (w *writer) apply(r *request) error {
	if r.op != nil {
		return r.op(w)
	}
	// record may turn its entry into a decline: it works on a copy, so a
	// replay after a rolled-back group commit decides afresh.
	e := r.e
	if err := w.record(&e, &r.res); err != nil {
		if refused(err) {
			return err
		}
		return w.l.fileErr("recording "+r.e.Key.String(), err)
	}
	return nil
}

// refused reports an error for bad input, raised before anything was written.
func refused(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound)
}

// Commits reports how many transactions the committer has committed and how
// many requests they carried; records/commits is the mean group-commit size.
func (l *Ledger) Commits() (commits, records int64) {
	return l.w.commits.Load(), l.w.records.Load()
}
