package ledger

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgresURL reports whether a --db value names a PostgreSQL database
// rather than a SQLite file.
func IsPostgresURL(s string) bool {
	ls := strings.ToLower(s)
	return strings.HasPrefix(ls, "postgres://") || strings.HasPrefix(ls, "postgresql://")
}

// openPostgres connects the writer's and the readers' handles. The ledger
// is database/sql-based, so pgx's database/sql driver lets the committer,
// the reads and the checks run the same code on both engines; only the SQL
// text is rewritten (see dialect).
//
// Several hosts may journal to one database. What SQLite's single writer
// gave for free, the committer gets from PostgreSQL's locks (see
// lockMerchant, lockKey and the FOR UPDATE of selOrig): every decision that
// depends on what was journaled before is taken under a row or key lock
// held to the commit.
func (l *Ledger) openPostgres(ctx context.Context) error {
	dsn, err := l.takeURLOptions(l.dsn)
	if err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgconn's parse error prints the URL with its password replaced.
		return fmt.Errorf("ledger: %w: PostgreSQL URL: %w", ErrInvalid, err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	// A row another host holds locked is waited for as long as SQLite
	// waits for its file lock (Options.BusyTimeout), then the request
	// fails (96) rather than hanging its terminal; the URL may say else.
	if _, ok := cfg.RuntimeParams["lock_timeout"]; !ok {
		cfg.RuntimeParams["lock_timeout"] = fmt.Sprint(l.opts.BusyTimeout.Milliseconds())
	}
	l.d = postgresDialect
	l.path = pgName(cfg.Host, cfg.Port, cfg.User, cfg.Database)
	connector := stdlib.GetConnector(*cfg)
	l.wdb, l.rdb = db{sql.OpenDB(connector), l.d}, db{sql.OpenDB(connector), l.d}
	if err := l.wdb.PingContext(ctx); err != nil {
		l.wdb.Close()
		l.rdb.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ledger %s: %w: cannot connect to PostgreSQL at host %s, port %d, database %s: %w",
			l.path, ErrUnavailable, cfg.Host, cfg.Port, cfg.Database, err)
	}
	return nil
}

// isolationParam in a PostgreSQL URL sets Options.Serializable from the
// command line: possim_isolation=serializable or read_committed (the
// default). It is the ledger's, not the server's, so it is taken out of the
// URL before connecting.
const isolationParam = "possim_isolation"

func (l *Ledger) takeURLOptions(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("ledger: %w: PostgreSQL URL: %w", ErrInvalid, errors.Unwrap(err))
	}
	q := u.Query()
	if !q.Has(isolationParam) {
		return dsn, nil
	}
	switch v := q.Get(isolationParam); v {
	case "serializable":
		l.opts.Serializable = true
	case "read_committed":
		l.opts.Serializable = false
	default:
		return "", fmt.Errorf("ledger: %w: %s=%q: want serializable or read_committed", ErrInvalid, isolationParam, v)
	}
	q.Del(isolationParam)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// pgName is how errors and logs name the database: its URL without the
// password.
func pgName(host string, port uint16, user, database string) string {
	u := url.URL{Scheme: "postgres", User: url.User(user), Path: "/" + database}
	if strings.HasPrefix(host, "/") {
		u.RawQuery = url.Values{"host": {host}}.Encode()
	} else {
		u.Host = fmt.Sprintf("%s:%d", host, port)
	}
	return u.String()
}

// pgSchemaLock is the advisory lock key under which hosts create or migrate
// the schema one at a time.
const pgSchemaLock = 0x706f7373696d // "possim"

// initPostgres creates or checks the schema, the version being kept in a
// table of its own (PostgreSQL has no user_version).
func (w *writer) initPostgres(ctx context.Context) error {
	l := w.l
	if _, err := w.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return l.fileErr("creating schema", err)
	}
	err := func() error {
		if _, err := w.conn.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", pgSchemaLock)); err != nil {
			return err
		}
		if _, err := w.conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS possim_schema (version BIGINT NOT NULL)"); err != nil {
			return err
		}
		var v sql.NullInt64
		if err := w.conn.QueryRowContext(ctx, "SELECT MAX(version) FROM possim_schema").Scan(&v); err != nil {
			return err
		}
		if int(v.Int64) > schemaVersion {
			return errNewer{int(v.Int64)}
		}
		if _, err := w.conn.ExecContext(ctx, l.d.schema(schemaSQL+atcSchemaSQL+pinSchemaSQL)); err != nil {
			return err
		}
		if err := w.migrate(ctx); err != nil {
			return err
		}
		_, err := w.conn.ExecContext(ctx, fmt.Sprintf("DELETE FROM possim_schema; INSERT INTO possim_schema VALUES (%d); COMMIT", schemaVersion))
		return err
	}()
	if err != nil {
		w.conn.ExecContext(ctx, "ROLLBACK")
		var n errNewer
		if errors.As(err, &n) {
			return fmt.Errorf("ledger %s: schema version %d is newer than this program's %d", l.path, n.version, schemaVersion)
		}
		return l.fileErr("creating schema", err)
	}
	return nil
}

type errNewer struct{ version int }

func (e errNewer) Error() string { return fmt.Sprintf("schema version %d", e.version) }

// columnsQuery counts a table's columns of a name, for migrate.
func (d *dialect) columnsQuery() string {
	if d.pg {
		return `SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`
	}
	return "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?"
}

// lockMerchant reads the merchant's profile and locks its row to the end
// of the transaction, on PostgreSQL: another host's sale waits, so the
// day's D0 total read after it is the whole truth. SQLite's committer is
// the only writer, so its cache is.
func (w *writer) lockMerchant(id string) (Merchant, bool, error) {
	if !w.l.d.pg {
		m, ok := w.merchants[id]
		return m, ok, nil
	}
	if w.locked[id] {
		m, ok := w.merchants[id]
		return m, ok, nil
	}
	st := w.st.lockMerchant
	if w.l.opts.Serializable {
		st = w.st.selMerchant // the server finds the conflicts itself
	}
	m, err := scanMerchant(st.QueryRowContext(w.bg, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Merchant{}, false, nil
	}
	if err != nil {
		return Merchant{}, false, err
	}
	w.merchants[id] = m
	w.locked[id] = true
	return m, true, nil
}

// lockKey takes a transaction-scoped lock on a journal key, on PostgreSQL:
// a sale and a reversal of it that arrives first, at another host, take
// turns, so the one that comes second sees the other (see lateReversal).
func (w *writer) lockKey(k Key) error {
	if !w.l.d.pg || w.l.opts.Serializable {
		return nil
	}
	_, err := w.st.lockKey.ExecContext(w.bg, k.TID+"/"+k.STAN+"/"+k.Date)
	return err
}

// pgLockTimeout is lock_not_available: a lock_timeout ran out.
const pgLockTimeout = "55P03"

// prefetch is what prelock and the insert learnt for the record being
// journaled.
type prefetch struct {
	locked bool   // its key (and card) are locked
	orphan orphan // the reversal waiting for it, read with its insert
	found  bool
}

// prelock takes, on PostgreSQL with locks, the locks an approved sale
// needs in one round trip: its key (a reversal of it at another host, see
// lateReversal) and its card (checkCard). The insert then reads the
// waiting reversal in the same statement (insertFetchingOrphan): three
// round trips fewer than taking and reading each in turn.
func (w *writer) prelock(e *Entry, approved bool) error {
	w.pre = prefetch{}
	if !w.l.d.pg || w.l.opts.Serializable || !approved || !e.Kind.credits() {
		return nil
	}
	key := e.Key.TID + "/" + e.Key.STAN + "/" + e.Key.Date
	var err error
	if (e.Kind == KindSale || e.Kind == KindQR) && e.Card != nil && e.CardRef != "" {
		_, err = w.st.lockKey2.ExecContext(w.bg, key, "card/"+e.CardRef+"/")
	} else {
		_, err = w.st.lockKey.ExecContext(w.bg, key)
	}
	w.pre.locked = err == nil
	return err
}

// insertFetchingOrphan inserts the entry (args as insEntry's) and reads the
// approved reversal waiting for it in one statement; the lock on its key
// was taken by the statement before, so that read sees every reversal
// committed before the lock was granted.
func (w *writer) insertFetchingOrphan(k Key, args []any, id *int64) error {
	var oid sql.NullInt64
	var tid, stan, date sql.NullString
	err := w.st.insEntryOrphan.QueryRowContext(w.bg, append(args, k.TID, k.STAN, k.Date)...).Scan(id, &oid, &tid, &stan, &date)
	if err == nil && oid.Valid {
		w.pre.orphan = orphan{id: oid.Int64, key: Key{TID: tid.String, STAN: stan.String, Date: date.String}}
		w.pre.found = true
	}
	return err
}

// retryable reports a failure that running the transaction again may
// cure: a deadlock between two hosts' transactions, a serialization
// failure, a posting another host settled meanwhile.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, errSettledMeanwhile) || errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// errSettledMeanwhile: a pending posting being cancelled was credited by
// another host's cut-off after it was read.
var errSettledMeanwhile = errors.New("pending posting settled meanwhile by another host")

// reconnect replaces the committer's connection after PostgreSQL went away,
// when a ping on it fails; the next transaction runs on the new one.
func (w *writer) reconnect() {
	if !w.l.d.pg {
		return
	}
	ctx, cancel := context.WithTimeout(w.bg, 5*time.Second)
	defer cancel()
	if w.conn.Conn != nil && w.conn.PingContext(ctx) == nil {
		return
	}
	w.closeStmts()
	if w.conn.Conn != nil {
		w.conn.Raw(func(any) error { return driver.ErrBadConn }) // drop it from the pool
		w.conn.Close()
		w.conn.Conn = nil
	}
	c, err := w.l.wdb.Conn(ctx)
	if err != nil {
		w.l.log.Error("ledger: reconnecting", "db", w.l.path, "err", err)
		return
	}
	w.conn.Conn = c
	if err := w.prepare(ctx); err != nil {
		// Half the statements would do half a transaction: none, so the
		// next one fails at its start and connects again.
		w.closeStmts()
		w.l.log.Error("ledger: reconnecting", "db", w.l.path, "err", err)
		return
	}
	w.l.log.Info("ledger: reconnected", "db", w.l.path)
}
