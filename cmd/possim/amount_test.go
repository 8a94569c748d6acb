package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestTerminalAmountNeverMisread: a mistyped --amount is refused with exit
// 2 and says how to write it; 12,34 used to charge 1,234.00 and exit 0.
func TestTerminalAmountNeverMisread(t *testing.T) {
	host := termHost(t)
	state := filepath.Join(t.TempDir(), "term.json")
	if code, _ := termCLI(t, host, state, "signon"); code != 0 {
		t.Fatalf("signon: exit %d", code)
	}
	for _, c := range []struct{ amount, want string }{
		{"12,34", `amount "12,34": a comma may only separate thousands (1,234.50); write 12.34 for 12 yuan 34 fen`},
		{"1,23,4", `amount "1,23,4": a comma may only separate thousands, in groups of three digits (1,234.50)`},
		{"1,2345", `amount "1,2345": a comma may only separate thousands`},
		{"0", `amount must be positive`},
		{"0.00", `amount must be positive`},
		{"-5.00", `amount must be positive`},
	} {
		var out, errb bytes.Buffer
		args := []string{"terminal", "--host", host, "--state", state, "--timeout", "2s",
			"sale", "--amount", c.amount, "--card", "visa-credit", "--pin", "1234"}
		code := Main(context.Background(), args, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		if code != 2 {
			t.Errorf("--amount %s: exit %d; want 2\n%s%s", c.amount, code, out.String(), errb.String())
		}
		if all := out.String() + errb.String(); !strings.Contains(all, c.want) {
			t.Errorf("--amount %s: the output does not say %q:\n%s", c.amount, c.want, all)
		}
		if strings.Contains(out.String(), "APPROVED") {
			t.Errorf("--amount %s: a sale was approved:\n%s", c.amount, out.String())
		}
	}
	// A grouped amount is still read as written.
	if code, out := termCLI(t, host, state, "sale", "--amount", "1,234.50", "--card", "visa-credit", "--pin", "1234"); code != 0 || !strings.Contains(out, "1,234.50") {
		t.Errorf("--amount 1,234.50: exit %d\n%s", code, out)
	}
}
