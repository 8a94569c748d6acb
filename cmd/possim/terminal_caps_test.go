package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTerminalCapsUsage: the flags of PIN re-entry and idle refuse bad
// values before anything is sent, naming the flag.
func TestTerminalCapsUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sale", "--amount", "1", "--card", "visa-credit", "--pin", "1234,12"}, `PIN 2 of the list "12": a PIN is 4 to 12 digits`},
		{[]string{"sale", "--amount", "1", "--card", "visa-credit", "--pin-tries", "-1"}, "--pin-tries -1: want 0 or more"},
		{[]string{"idle"}, "idle needs --for D"},
		{[]string{"idle", "--for", "1s", "--echo-idle", "-1s"}, "--echo-idle -1s"},
		{[]string{"sale", "--amount", "1", "--for", "1s"}, "--for is for the idle command, not sale"},
	} {
		code, _, stderr := runMain(append([]string{"terminal", "--host", "127.0.0.1:1", "--state", filepath.Join(t.TempDir(), "t.json")}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("terminal %v: exit %d, want 2 and %q:\n%s", tc.args, code, tc.want, stderr)
		}
	}
}

// TestTerminalPINList: with --pin-tries 3 the CLI types the next PIN of
// --pin each time the terminal asks again; without re-entry the sale ends
// on the first 55.
func TestTerminalPINList(t *testing.T) {
	host := termHost(t)
	state := filepath.Join(t.TempDir(), "t.json")
	code, out := termCLI(t, host, state, "sale", "--amount", "10", "--card", "visa-credit", "--pin", "1111,1234", "--pin-tries", "3")
	if code != 0 || !strings.Contains(out, "SALE approved") {
		t.Fatalf("exit %d, want the second PIN approved:\n%s", code, out)
	}
	code, out = termCLI(t, host, state, "sale", "--amount", "10", "--card", "mc-debit", "--pin", "1111,1234")
	if code != 1 || !strings.Contains(out, "declined") {
		t.Errorf("exit %d, want declined 55 without --pin-tries:\n%s", code, out)
	}
}

// TestTerminalIdle: idle signs on and echoes its link per --echo-idle.
func TestTerminalIdle(t *testing.T) {
	host := termHost(t)
	state := filepath.Join(t.TempDir(), "t.json")
	code, out := termCLI(t, host, state, "idle", "--for", "1s", "--echo-idle", "300ms")
	if code != 0 || !strings.Contains(out, "note: signed on") || !strings.Contains(out, "echo tests sent, one after each 300ms idle") {
		t.Fatalf("exit %d, want signed on and echo tests:\n%s", code, out)
	}
	if !regexp.MustCompile(`idle for 1s: [1-9]\d* echo tests`).MatchString(out) {
		t.Errorf("want echo tests sent while idle:\n%s", out)
	}
}
