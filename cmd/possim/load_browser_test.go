package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/possim/possim/harness/browsertest"
)

// TestLoadChartsInBrowser opens the page of possim load --echo --html (ten
// windows, so the lines have points to join) in
// Chromium: the four charts are there, each with a series drawn, and the
// page logs no error.
func TestLoadChartsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("a one-second load run and a browser")
	}
	p := browsertest.New(t)
	html := filepath.Join(t.TempDir(), "load.html")
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"load", "--echo", "--duration", "1s", "--window", "100ms", "--conns", "4", "--html", html},
		&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}); code != 0 {
		t.Fatalf("possim load exit %d:\n%s\n%s", code, out.String(), errb.String())
	}
	p.Do(t, "opening the load report", chromedp.Navigate("file://"+html))
	p.Until(t, "the page", `document.readyState === "complete"`)
	for _, id := range []string{"throughput", "latency", "histogram", "codes"} {
		drawn := browsertest.Eval[int](t, p, `(s => s ? s.querySelectorAll(".series polyline, .series rect, rect title").length : -1)(document.querySelector("svg#`+id+`"))`)
		switch {
		case drawn < 0:
			t.Errorf("no svg#%s on the page", id)
		case id == "codes":
			// The echo host approves every request: its chart says so.
			if got := browsertest.Eval[string](t, p, `document.querySelector("svg#codes").textContent`); drawn == 0 && !strings.Contains(got, "no declines and no errors") {
				t.Errorf("svg#codes has neither a series nor its note: %q", got)
			}
		case drawn == 0:
			t.Errorf("svg#%s has no series drawn", id)
		}
		if w := browsertest.Eval[float64](t, p, `document.querySelector("svg#`+id+`").getBoundingClientRect().width`); w < 200 {
			t.Errorf("svg#%s is %.0f pixels wide", id, w)
		}
	}
	p.Screenshot(t, "load")
	p.NoConsoleErrors(t)
}
