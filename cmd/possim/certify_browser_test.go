package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/possim/possim/harness/browsertest"
)

// TestCertifyReportInBrowser opens the certification report of a run in
// which the terminal under test forgets its pending reversal: in a real
// Chromium, with no console error, the failed case is open and shows its
// reason, the message ladder and the evidence with field names, and the
// failed filter leaves only failures.
func TestCertifyReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs possim terminal processes and a browser")
	}
	p := browsertest.New(t)
	dir := t.TempDir()
	html := filepath.Join(dir, "certify.html")
	code, out := runCertifyMain(t, "--listen", "127.0.0.1:0", "--plan", "../../features/certify/05-reversals.feature",
		"--tags", "@lost-reversal", "--operator", terminalOperator(t, shQuote(dir)+`/state-$$.json`), "--html", html, "--timeout", "30s")
	if code != 1 {
		t.Fatalf("possim certify exited %d, want 1 (a terminal that loses its reversal):\n%s", code, out)
	}

	p.Do(t, "opening the report", chromedp.Navigate("file://"+html))
	p.Until(t, "the report", `document.readyState === "complete"`)
	failed := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll('details.scn[data-status="failed"]')].map(s => s.querySelector("summary").textContent)`)
	if len(failed) == 0 {
		t.Fatalf("no failed case in the report; certify said:\n%s", out)
	}
	if !strings.Contains(strings.Join(failed, "|"), "T05.2") {
		t.Errorf("failed cases %q, want T05.2 (the lost reversal) among them", failed)
	}
	open := browsertest.Eval[bool](t, p, `[...document.querySelectorAll('details.scn[data-status="failed"]')].every(s => s.open)`)
	if !open {
		t.Error("a failed case is not opened")
	}
	t052 := `[...document.querySelectorAll('details.scn')].find(s => s.querySelector("summary").textContent.includes("T05.2"))`
	if text := browsertest.Eval[string](t, p, t052+`.innerText`); !strings.Contains(text, "before repeating the reversal") ||
		!strings.Contains(text, "Evidence") || !strings.Contains(text, "response code") {
		t.Errorf("T05.2 does not show its reason, evidence and named fields:\n%s", text)
	}
	if n := browsertest.Eval[int](t, p, t052+`.querySelectorAll("svg").length`); n == 0 {
		t.Error("T05.2 has no message ladder")
	}
	p.Do(t, "filtering failures", chromedp.Click(chromedp.CSS(`button[data-filter="failed"]`)))
	shown := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("details.scn")].filter(s => !s.hidden).map(s => s.dataset.status)`)
	for _, st := range shown {
		if st != "failed" {
			t.Errorf("the failed filter shows a %s case", st)
		}
	}
	p.NoConsoleErrors(t)
}
