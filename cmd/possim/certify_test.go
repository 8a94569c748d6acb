package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the possim binary: with
// POSSIM_AS_MAIN=1 it runs Main on its arguments and exits, so that an
// operator command of possim certify can run `possim terminal` without a
// build step.
func TestMain(m *testing.M) {
	if os.Getenv("POSSIM_AS_MAIN") == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
	}
	os.Exit(m.Run())
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// terminalOperator is an operator command that works the possim terminal
// from the prompt's POSSIM_* variables, keeping its state in state (a
// shell word: a quoted path, or one with $$ in it). The terminal allows 4
// PIN entries per sale unless tries says otherwise.
func terminalOperator(t *testing.T, state string, tries ...int) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return "POSSIM_AS_MAIN=1 " + shQuote(self) + ` terminal --host "$POSSIM_HOST" --state ` + state + ` --timeout 3s "$POSSIM_OP"` +
		` ${POSSIM_AMOUNT:+--amount "$POSSIM_AMOUNT"} ${POSSIM_CARD:+--card "$POSSIM_CARD"} ${POSSIM_ENTRY:+--entry "$POSSIM_ENTRY"}` +
		` ${POSSIM_PIN:+--pin "$POSSIM_PIN"} ${POSSIM_STAN:+--stan "$POSSIM_STAN"} ${POSSIM_CODE:+--code "$POSSIM_CODE"}` +
		` ${POSSIM_SECONDS:+--for "${POSSIM_SECONDS}s"} ${POSSIM_ECHO_IDLE:+--echo-idle "${POSSIM_ECHO_IDLE}s"}` +
		` --pin-tries ` + strconv.Itoa(append(tries, 4)[0])
}

func runCertifyMain(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := Main(context.Background(), append([]string{"certify"}, args...),
		&Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
	return code, out.String()
}

// TestCertifyPossimTerminal runs the shipped plan with possim terminal as
// the terminal under test: every case passes, and the reports are written.
func TestCertifyPossimTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the certification plan against possim terminal processes")
	}
	dir := t.TempDir()
	html, junit := filepath.Join(dir, "certify.html"), filepath.Join(dir, "certify.xml")
	code, out := runCertifyMain(t, "--listen", "127.0.0.1:0", "--plan", "../../features/certify",
		"--operator", terminalOperator(t, shQuote(filepath.Join(dir, "terminal.json"))),
		"--html", html, "--format", "pretty,junit:"+junit, "--timeout", "30s")
	if code != 0 {
		t.Fatalf("possim certify exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "21 scenarios (21 passed)") {
		t.Errorf("want the 21 cases passed:\n%s", out)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"terminal certification report", "T05.2 Unanswered reversal", "Original Data Elements", "0401", ">21 passed<", "T07.3 PIN key change"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	if x, err := os.ReadFile(junit); err != nil || !bytes.Contains(x, []byte(`failures="0"`)) {
		t.Errorf("junit report: %v\n%s", err, x)
	}
}

// TestCertifyCatchesLostReversal: a terminal that forgets its pending
// reversal when it restarts (here: every prompt runs possim terminal on a
// new state file) sends its next sale without repeating the reversal; the
// case fails and says so.
func TestCertifyCatchesLostReversal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs possim terminal processes")
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "certify.html")
	code, out := runCertifyMain(t, "--listen", "127.0.0.1:0", "--plan", "../../features/certify/05-reversals.feature",
		"--tags", "@lost-reversal", "--operator", terminalOperator(t, shQuote(dir)+`/state-$$.json`), "--html", html, "--timeout", "30s")
	if code != 1 {
		t.Fatalf("possim certify exited %d, want 1:\n%s", code, out)
	}
	want := "before repeating the reversal"
	if !strings.Contains(out, want) {
		t.Errorf("want the failure to say %q:\n%s", want, out)
	}
	if page, err := os.ReadFile(html); err != nil || !bytes.Contains(page, []byte(want)) {
		t.Errorf("the HTML report lacks the reason %q: %v", want, err)
	}
}

// TestCertifySilentTerminal: a terminal that never sends fails each case
// with the wait it was given, and the run goes on to the next case.
func TestCertifySilentTerminal(t *testing.T) {
	plan := t.TempDir()
	for _, f := range []string{"01-sign-on.feature", "06-settlement.feature"} {
		b, err := os.ReadFile(filepath.Join("../../features/certify", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(plan, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out := runCertifyMain(t, "--listen", "127.0.0.1:0", "--plan", plan, "--operator", "true", "--timeout", "1s")
	if code != 1 {
		t.Fatalf("possim certify exited %d, want 1:\n%s", code, out)
	}
	if n := strings.Count(out, "no message from the terminal within 1 s"); n < 3 {
		t.Errorf("want each of the 3 cases failed for want of a message, found the reason %d times:\n%s", n, out)
	}
	if !strings.Contains(out, "3 scenarios (3 failed)") {
		t.Errorf("want 3 cases run and failed:\n%s", out)
	}
}

func TestCertifyUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--plan DIR is required"},
		{[]string{"--plan", "no/such/plan"}, `feature path "no/such/plan": no such file or folder`},
		{[]string{"--plan", "../../features/certify", "--timeout", "0s"}, "--timeout 0s"},
	} {
		code, out := runCertifyMain(t, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("certify %v: exit %d, want 2 and %q:\n%s", tc.args, code, tc.want, out)
		}
	}
}

// TestRunPointsAtCertify: possim run on the certify plan runs nothing and
// says which command does.
func TestRunPointsAtCertify(t *testing.T) {
	code, _, stderr := runMain("run", "../../features/certify")
	if code != 1 || !strings.Contains(stderr, "run them with possim certify --plan") {
		t.Errorf("exit %d, want 1 and a pointer to possim certify:\n%s", code, stderr)
	}
}

// TestCertifyCatchesNoPINReentry: a terminal that allows one PIN entry per
// sale ends it on the first 55; the re-entry case fails and says why.
func TestCertifyCatchesNoPINReentry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs possim terminal processes")
	}
	dir := t.TempDir()
	code, out := runCertifyMain(t, "--listen", "127.0.0.1:0", "--plan", "../../features/certify/07-terminal-capabilities.feature",
		"--tags", "@pin-reentry", "--operator", terminalOperator(t, shQuote(filepath.Join(dir, "terminal.json")), 1), "--timeout", "10s")
	if code != 1 {
		t.Fatalf("possim certify exited %d, want 1:\n%s", code, out)
	}
	want := "with 55 (incorrect PIN) and the terminal sent no new 0200 after it: it did not ask for the PIN again"
	if n := strings.Count(out, want); n < 2 {
		t.Errorf("want both re-entry cases failed saying %q, found it %d times:\n%s", want, n, out)
	}
	if !strings.Contains(out, "2 scenarios (2 failed)") {
		t.Errorf("want 2 cases run and failed:\n%s", out)
	}
}
