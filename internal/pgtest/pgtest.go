// Package pgtest gives tests a PostgreSQL database of their own on the
// test server: the URL of a database in POSSIM_TEST_POSTGRES
// (scripts/pg-test-server.sh starts one, .ci/run always does). Without it a
// test skips, and fails in CI.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// URL is the test server's URL; without one it skips t (fails it in CI).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("POSSIM_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: POSSIM_TEST_POSTGRES is not set; .ci/run starts a server with scripts/pg-test-server.sh")
		}
		t.Skip("POSSIM_TEST_POSTGRES not set: no PostgreSQL server to test on (scripts/pg-test-server.sh starts one)")
	}
	return u
}

// Schema creates a schema of its own for t on the test server and returns
// the server's URL with it as the search_path; it is dropped when t ends.
func Schema(t testing.TB) string {
	t.Helper()
	return SchemaIn(t, URL(t))
}

// SchemaIn is Schema in the database at base.
func SchemaIn(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating a test schema: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
