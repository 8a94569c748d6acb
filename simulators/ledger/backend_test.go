package ledger

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/possim/possim/internal/pgtest"
)

// The ledger's tests run on both engines: eachBackend runs a test as the
// subtests sqlite and postgres, and openLedger, inside one, opens a fresh
// ledger of that engine. PostgreSQL tests need a server: the URL of a
// database in POSSIM_TEST_POSTGRES (scripts/pg-test-server.sh starts one).
// Without it they skip, and fail in CI, where one is always started.

func eachBackend(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	t.Run("sqlite", f)
	t.Run("postgres", func(t *testing.T) {
		pgtest.URL(t)
		f(t)
	})
}

func onPostgres(t testing.TB) bool { return strings.Contains(t.Name(), "/postgres") }

// freshDB is a new, empty database for t: a file in t.TempDir() under
// sqlite, or under postgres a schema of its own in the test server's
// database, dropped when t ends.
func freshDB(t testing.TB) string {
	t.Helper()
	if !onPostgres(t) {
		return filepath.Join(t.TempDir(), "ledger.db")
	}
	return pgtest.Schema(t)
}

// rawDB opens a second connection on the ledger's database, as an intruder
// would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", path+"?_pragma=busy_timeout(5000)"
	if IsPostgresURL(path) {
		driver, dsn = "pgx", path
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDialectRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"day = ?2 AND card = ?1", "day = $2 AND card = $1"},
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
		{"x = 'it''s?' AND y = ?", "x = 'it''s?' AND y = $1"},
	} {
		if got := postgresDialect.q(c.in); got != c.want {
			t.Errorf("q(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := sqliteDialect.q(c.in); got != c.in {
			t.Errorf("sqlite q(%q) = %q, want it unchanged", c.in, got)
		}
	}
}

func TestPostgresBadURL(t *testing.T) {
	ctx := context.Background()
	_, err := Open(ctx, "postgres://possim:s3cret-pw@127.0.0.1:1/nodb?connect_timeout=2", Options{})
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"host 127.0.0.1", "port 1", "database nodb"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cret-pw") {
		t.Errorf("error %q prints the password", msg)
	}
}

func TestPostgresNewerSchemaRefused(t *testing.T) {
	dsn := pgtest.Schema(t)
	l, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := rawDB(t, dsn).Exec("UPDATE possim_schema SET version = 99"); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), dsn, Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer than this program's 2") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

// TestPostgresGoneAndBack: the server drops the committer's connection (as
// a restart does). Records fail while it is gone, never reporting a commit
// that did not happen, and succeed again once the committer has connected
// again.
func TestPostgresGoneAndBack(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	app := "possim-gone-" + hex.EncodeToString([]byte(t.Name()))[:12]
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	l, err := Open(ctx, u.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.PutMerchant(ctx, demoMerchant()); err != nil {
		t.Fatal(err)
	}
	record(t, l, sale(1, 1000, t0))
	var killed int
	if err := rawDB(t, dsn).QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1`, app).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminating the ledger's connections: %d %v", killed, err)
	}
	ok := 0
	for i := 2; i < 10; i++ {
		r, err := l.Record(ctx, sale(i, 1000, t0))
		if err != nil {
			t.Logf("sale %d while reconnecting: %v", i, err)
			continue
		}
		if r.Duplicate {
			t.Errorf("sale %d: duplicate", i)
		}
		ok++
	}
	if ok < 6 {
		t.Errorf("only %d of 8 sales journaled after the connection came back", ok)
	}
	// What was answered journaled is there; nothing else is.
	var n int
	if err := rawDB(t, dsn).QueryRow("SELECT COUNT(*) FROM entries").Scan(&n); err != nil || n != ok+1 {
		t.Errorf("%d entries (%v), want %d", n, err, ok+1)
	}
	mustVerify(t, l)
}

func TestPostgresIsolationParam(t *testing.T) {
	base := pgtest.Schema(t)
	for _, c := range []struct {
		param string
		want  bool
	}{{"serializable", true}, {"read_committed", false}} {
		l, err := Open(context.Background(), base+"&possim_isolation="+c.param, Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.param, err)
		}
		if l.opts.Serializable != c.want {
			t.Errorf("%s: Serializable = %v", c.param, l.opts.Serializable)
		}
		l.Close()
	}
	_, err := Open(context.Background(), base+"&possim_isolation=snapshot", Options{})
	if err == nil || !strings.Contains(err.Error(), "want serializable or read_committed") {
		t.Errorf("a bad isolation: %v", err)
	}
}

// TestPostgresLockTimeout: a merchant row another host holds locked is
// waited for BusyTimeout, then the record fails with ErrLocked instead of
// hanging.
func TestPostgresLockTimeout(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	l, err := Open(ctx, dsn, Options{BusyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.PutMerchant(ctx, demoMerchant()); err != nil {
		t.Fatal(err)
	}
	tx, err := rawDB(t, dsn).BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("SELECT id FROM merchants WHERE id = $1 FOR UPDATE", mid); err != nil {
		t.Fatal(err)
	}
	_, err = l.Record(ctx, sale(1, 100, t0))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Record with the merchant locked elsewhere: %v, want ErrLocked", err)
	}
	tx.Rollback()
	record(t, l, sale(2, 100, t0))
}
