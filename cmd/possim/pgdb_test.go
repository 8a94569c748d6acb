package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestPostgresURLThatCannotConnect: possim host and possim ledger given a
// PostgreSQL URL nobody answers exit 2 naming host, port and database,
// never the password.
func TestPostgresURLThatCannotConnect(t *testing.T) {
	const url = "postgres://possim:hunter2-secret@127.0.0.1:1/ledgerdb?connect_timeout=2"
	for _, args := range [][]string{
		{"host", "--listen", "127.0.0.1:0", "--db", url},
		{"ledger", "--db", url, "verify"},
	} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), args, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		msg := out.String() + errb.String()
		if code != 2 {
			t.Errorf("possim %s: exit %d, want 2\n%s", args[0], code, msg)
		}
		for _, want := range []string{"host 127.0.0.1", "port 1", "database ledgerdb"} {
			if !strings.Contains(msg, want) {
				t.Errorf("possim %s: output does not name %q:\n%s", args[0], want, msg)
			}
		}
		if strings.Contains(msg, "hunter2-secret") {
			t.Errorf("possim %s prints the password:\n%s", args[0], msg)
		}
	}
}
