package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/possim/possim/harness/browsertest"
)

// prefixWaiter hands on the rest of the first whole line that starts with
// prefix, and keeps everything written.
type prefixWaiter struct {
	prefix string
	ready  chan string
	mu     sync.Mutex
	buf    bytes.Buffer
	sent   bool
}

func (w *prefixWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		lines := strings.Split(w.buf.String(), "\n")
		for _, line := range lines[:len(lines)-1] {
			if rest, ok := strings.CutPrefix(line, w.prefix); ok {
				w.ready <- strings.TrimSpace(rest)
				w.sent = true
				break
			}
		}
	}
	return len(p), nil
}

func (w *prefixWaiter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestDemoDashboardInBrowser runs possim demo --dashboard as a user does
// and watches it in a real Chromium: the page goes live, shows the card
// going into the reader, the sale's request and answer on the ladder with
// every field by name when opened, the terminal's screen, the receipt and
// the merchant's postings and balance, with no console error; the demo
// then waits for Enter before it takes the page down.
func TestDemoDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo and a browser")
	}
	p := browsertest.New(t)
	stdin, enter := io.Pipe()
	stderr := &prefixWaiter{prefix: "possim demo: dashboard on ", ready: make(chan string, 1)}
	var stdout bytes.Buffer
	done := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- Main(ctx, []string{"demo", "--dashboard", "127.0.0.1:0", "--pace", "300ms"},
			&Env{Stdin: stdin, Stdout: &stdout, Stderr: stderr, Getenv: func(string) string { return "" }})
	}()
	var url string
	select {
	case url = <-stderr.ready:
	case code := <-done:
		t.Fatalf("demo ended (exit %d) before serving its dashboard:\n%s", code, stderr.String())
	}

	p.Do(t, "opening the dashboard", chromedp.Navigate(url))
	p.Until(t, "the event stream", `document.getElementById("conn").textContent === "live"`)
	if got := browsertest.Eval[string](t, p, `document.title`); got != "possim demo" {
		t.Errorf("title %q, want possim demo", got)
	}
	p.Until(t, "the card insertion", `[...document.querySelectorAll("#events .ev")].some(r => r.dataset.source === "cardreader" && r.dataset.kind === "insert")`)
	p.Until(t, "the card reader's card", `!document.getElementById("dev-cardreader").hidden`)
	p.Until(t, "the sale's request", `document.querySelector('#ladder .lad.out[data-mti="0200"]') !== null`)
	p.Until(t, "the sale's answer", `document.querySelector('#ladder .lad.in[data-mti="0210"]') !== null`)
	p.Until(t, "the terminal's screen", `document.getElementById("screen").textContent !== ""`)
	p.Until(t, "a receipt", `document.querySelectorAll("#receipts .rc .receipt").length > 0`)
	p.Until(t, "a posting", `document.querySelectorAll("#postings tbody tr").length > 0`)
	p.Until(t, "the balance", `/\d/.test(document.getElementById("balance").textContent)`)
	p.Screenshot(t, "dashboard")

	p.Do(t, "opening the sale's answer", chromedp.Click(chromedp.CSS(`#ladder .lad.in[data-mti="0210"] summary`)))
	fields := browsertest.Eval[string](t, p, `document.querySelector('#ladder .lad.in[data-mti="0210"] .flds').innerText`)
	if !strings.Contains(fields, "39 response code = 00 (approved)") {
		t.Errorf("opened 0210 shows %q, want its response code by name", fields)
	}
	if got := browsertest.Eval[string](t, p, `document.getElementById("ladder").innerText`); strings.Contains(got, "4761730000000010") {
		t.Error("the ladder shows a PAN in clear")
	}
	// The device cards of a lab have no buttons: the demo drives its devices.
	if n := browsertest.Eval[int](t, p, `[...document.querySelectorAll("[data-controls] button")].filter(b => b.getClientRects().length > 0).length`); n != 0 {
		t.Errorf("%d device buttons shown on a lab's dashboard, want none", n)
	}

	// The demo ends and holds the page until Enter.
	p.Until(t, "the settlement", `document.querySelector('#ladder .lad.out[data-mti="0500"]') !== null`)
	for !strings.Contains(stderr.String(), "press Enter") {
		select {
		case code := <-done:
			t.Fatalf("demo ended (exit %d) without holding the page:\n%s\n%s", code, stdout.String(), stderr.String())
		default:
			browsertest.Eval[bool](t, p, `true`) // a round trip to the browser between looks
		}
	}
	if got := browsertest.Eval[string](t, p, `document.getElementById("conn").textContent`); got != "live" {
		t.Errorf("page says %q while the demo holds it, want live", got)
	}
	// Polls fold into one line; the level filter keeps warnings and errors.
	if n := browsertest.Eval[int](t, p, `[...document.querySelectorAll("#events .fold")].filter(f => !f.hidden && /answered \d+ status poll/.test(f.textContent)).length`); n == 0 {
		t.Error("no folded line of printer status polls")
	}
	browsertest.Eval[bool](t, p, `(s => { s.value = "warn"; return s.dispatchEvent(new Event("change")); })(document.getElementById("level"))`)
	levels := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("#events .ev, #events .fold")].filter(r => !r.hidden).map(r => r.dataset.level)`)
	if len(levels) == 0 || strings.Contains(strings.Join(levels, " "), "info") {
		t.Errorf("levels shown under warnings and errors: %q; want some, none info (the expired card's decline is one)", levels)
	}

	// Checked before the page goes: a page whose server is gone logs its
	// refused reconnections.
	p.NoConsoleErrors(t)
	enter.Write([]byte("\n"))
	if code := <-done; code != 0 {
		t.Fatalf("demo exit %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
}

// TestDashboardFlagsRefuseBadAddresses: a dashboard address that cannot
// be served is a usage error that names the flag.
func TestDashboardFlagsRefuseBadAddresses(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--dashboard", "192.0.2.1:0"},
		{"run", "../../features/preparation/hardware-check.feature", "--dashboard", "no-such-host.invalid:1"},
	} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), args, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		if code != 2 || !strings.Contains(errb.String(), "--dashboard") {
			t.Errorf("%q: exit %d, stderr %q; want 2 naming --dashboard", args, code, errb.String())
		}
	}
}

// TestRunDashboardServesWhileRunning: possim run --dashboard says where
// the page is, the run passes as it would without it, and the page is
// gone when the run ends.
func TestRunDashboardServesWhileRunning(t *testing.T) {
	var out bytes.Buffer
	errb := &prefixWaiter{prefix: "possim run: dashboard on ", ready: make(chan string, 1)}
	code := Main(context.Background(), []string{"run", "../../features/preparation/hardware-check.feature", "--dashboard", "127.0.0.1:0",
		"--format", "progress", "--concurrency", "4"}, &Env{Stdout: &out, Stderr: errb, Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var url string
	select {
	case url = <-errb.ready:
	default:
		t.Fatalf("no dashboard address on stderr:\n%s", errb.String())
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(errb.String(), "scenarios passed") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("the dashboard still answers after the run: %s", resp.Status)
	}
}
