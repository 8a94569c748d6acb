package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options configure a Ledger. The zero value is ready for production use.
type Options struct {
	Logger *slog.Logger // nil: discard
	// MaxBatch is the most Record calls one transaction carries (default 256).
	MaxBatch int
	// Synchronous is SQLite's synchronous setting: "FULL" (default, an
	// approval survives a power cut) or "NORMAL" (faster, for tests only).
	// PostgreSQL keeps the server's synchronous_commit.
	Synchronous string
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection (on PostgreSQL, another host) before failing with
	// ErrLocked (default 5 s).
	BusyTimeout time.Duration
	// QueueSize is the capacity of the committer's queue (default 4*MaxBatch).
	QueueSize int
	// Serializable, on PostgreSQL, runs every transaction SERIALIZABLE and
	// retries the ones the server aborts, instead of taking row and key
	// locks under READ COMMITTED (the default, faster under contention:
	// docs/scale.md).
	Serializable bool
}

// Ledger is an open journal file. All writes go through one committer
// goroutine on one connection; reads use a separate pool of read-only
// connections, which WAL lets run beside the writer.
type Ledger struct {
	path string // the file, or the PostgreSQL URL without its password
	dsn  string // what Open was given, to connect again
	d    *dialect
	log  *slog.Logger
	opts Options

	wdb   db // one connection, owned by the committer
	rdb   db // read-only pool
	w     *writer
	reqs  chan *request
	done  chan struct{} // closed when the committer has stopped
	pool  sync.Pool     // *request
	rstmt readStmts

	mu     sync.RWMutex // guards closed against the send on reqs
	closed bool

	atcMu sync.Mutex
	atcs  map[string]atcRaise // RaiseATC's counters, by card, until the committer takes them
}

// Open opens or creates the journal at path, checks it (PRAGMA quick_check),
// creates the schema and starts the committer. Errors name the path and say
// what is wrong; they wrap ErrLocked or ErrCorrupt where that is the cause.
//
// A path starting postgres:// or postgresql:// is a PostgreSQL database
// instead (see openPostgres): several hosts may share it.
func Open(ctx context.Context, path string, opts Options) (*Ledger, error) {
	pg := IsPostgresURL(path)
	if !pg {
		if err := checkPath(path); err != nil {
			return nil, err
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4 * opts.MaxBatch
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	switch s := strings.ToUpper(opts.Synchronous); s {
	case "":
		opts.Synchronous = "FULL"
	case "FULL", "NORMAL", "EXTRA":
		opts.Synchronous = s
	default:
		return nil, fmt.Errorf("ledger %s: %w: synchronous %q (want FULL or NORMAL)", path, ErrInvalid, opts.Synchronous)
	}

	l := &Ledger{path: path, dsn: path, d: sqliteDialect, log: opts.Logger, opts: opts, atcs: map[string]atcRaise{}}
	var err error
	if pg {
		err = l.openPostgres(ctx)
	} else {
		err = l.openSQLite()
	}
	if err != nil {
		return nil, err
	}
	l.wdb.SetMaxOpenConns(1)
	l.wdb.SetMaxIdleConns(1)
	l.wdb.SetConnMaxLifetime(0)
	l.wdb.SetConnMaxIdleTime(0)

	w, err := l.startWriter(ctx)
	if err != nil {
		l.wdb.Close()
		l.rdb.Close()
		return nil, err
	}
	l.w = w

	l.rdb.SetMaxOpenConns(8)
	l.rdb.SetMaxIdleConns(8)
	if err = l.rstmt.prepare(ctx, l.rdb); err != nil {
		w.close()
		l.rdb.Close()
		l.wdb.Close()
		return nil, l.fileErr("opening readers", err)
	}

	l.reqs = make(chan *request, opts.QueueSize)
	l.done = make(chan struct{})
	l.pool.New = func() any { return &request{done: make(chan struct{}, 1)} }
	go l.run()
	return l, nil
}

// openSQLite opens the writer's and the readers' handles on the file.
func (l *Ledger) openSQLite() error {
	base := l.path + "?_pragma=busy_timeout(" + fmt.Sprint(l.opts.BusyTimeout.Milliseconds()) + ")"
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_pragma=synchronous("+l.opts.Synchronous+")")
	if err != nil {
		return l.fileErr("opening", err)
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return l.fileErr("opening readers", err)
	}
	l.wdb, l.rdb = db{w, l.d}, db{r, l.d}
	return nil
}

// checkPath catches the mistakes SQLite reports vaguely ("unable to open
// database file") before SQLite sees them.
func checkPath(path string) error {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return fmt.Errorf("ledger: %w: path %q: give the path of a file", ErrInvalid, path)
	}
	if strings.ContainsAny(path, "?#") {
		return fmt.Errorf("ledger %s: %w: path may not contain '?' or '#'", path, ErrInvalid)
	}
	if dir := filepath.Dir(path); dir != "." {
		st, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("ledger %s: directory %s does not exist", path, dir)
		case err != nil:
			return fmt.Errorf("ledger %s: %w", path, err)
		case !st.IsDir():
			return fmt.Errorf("ledger %s: %s is not a directory", path, dir)
		}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("ledger %s: is a directory, not a database file", path)
	}
	return nil
}

// openErr turns SQLite's result codes into errors that say what is wrong with
// the file and where.
func (l *Ledger) fileErr(doing string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("ledger %s: %s: %w by another process or connection (waited %v): %w",
				l.path, doing, ErrLocked, l.opts.BusyTimeout, err)
		case sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("ledger %s: %s: %w: file is not a database: %w", l.path, doing, ErrCorrupt, err)
		case sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("ledger %s: %s: %w: %w", l.path, doing, ErrCorrupt, err)
		case sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("ledger %s: %s: cannot open the file (permissions?): %w", l.path, doing, err)
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
			return fmt.Errorf("ledger %s: %s: file is read-only: %w", l.path, doing, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == pgLockTimeout {
		return fmt.Errorf("ledger %s: %s: %w by another host (waited %v): %w", l.path, doing, ErrLocked, l.opts.BusyTimeout, err)
	}
	return fmt.Errorf("ledger %s: %s: %w", l.path, doing, err)
}

// Shared reports whether other hosts may write the ledger too (it is on
// PostgreSQL): what a host keeps in memory of the journal may then be
// out of date, and limits are better left to the committer (Entry.Card).
func (l *Ledger) Shared() bool { return l.d.pg }

// Path is the file the ledger was opened on.
func (l *Ledger) Path() string { return l.path }

// Close stops taking records, commits the ones already queued, stops the
// committer and closes the database. It is safe to call more than once.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.reqs)
	l.mu.Unlock()
	<-l.done
	err := l.w.close()
	l.rstmt.close()
	if e := l.rdb.Close(); err == nil {
		err = e
	}
	if e := l.wdb.Close(); err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("ledger %s: closing: %w", l.path, err)
	}
	return nil
}

// request is one unit of work for the committer: an entry to journal, or a
// function (merchant update, cut-off) run in the same serial order.
type request struct {
	e    Entry
	op   func(w *writer) error
	res  Result
	err  error
	done chan struct{}
}

// submit hands r to the committer and waits for its commit. If ctx ends
// first, submit returns ctx.Err() and the work may still be committed.
func (l *Ledger) submit(ctx context.Context, r *request) error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		l.mu.RUnlock()
		return ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Record journals e durably and, when e.RespCode is "00", applies its
// settlement postings in the same transaction. It returns only after the
// transaction holding e is committed with the configured synchronous level.
// A second Record with the same key and MTI class is a duplicate: nothing is
// written and Result.Existing is the first one. For a void or reversal,
// OrigNotFound says the original is not journaled as approved and
// AlreadyReversed that it was undone before; nothing is posted then.
// A reversal without Orig reverses the entry with its own key (the original's
// STAN, as CUP terminals send it). An approved reversal whose original is not
// journaled at all is kept, and applied when the original arrives (see
// Result.LateReversed). Declines are journaled without postings.
// An approved refund by reference, or void or reversal of a sale, that
// would return more than the sale's amount is journaled as declined
// instead (Result.Refused and Result.RespCode say why and with what).
func (l *Ledger) Record(ctx context.Context, e Entry) (Result, error) {
	if err := e.validate(); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	r := l.pool.Get().(*request)
	r.e = e
	if err := l.submit(ctx, r); err != nil {
		// The committer may still hold r: it is not reused.
		return Result{}, err
	}
	res, err := r.res, r.err
	*r = request{done: r.done}
	l.pool.Put(r)
	return res, err
}

// do runs op on the committer, in its own place in the serial order.
func (l *Ledger) do(ctx context.Context, op func(w *writer) error) error {
	r := &request{op: op, done: make(chan struct{}, 1)}
	if err := l.submit(ctx, r); err != nil {
		return err
	}
	return r.err
}
