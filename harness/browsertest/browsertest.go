// Package browsertest opens possim's pages (the dashboard, the HTML
// reports of possim run and possim certify, the load charts) in a real
// headless Chromium for tests, through chromedp. Without Chromium a test
// skips, except under CI (CI set), where a missing browser is a failure:
// .ci/run installs Debian's chromium.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Page is a browser tab and what its console said.
type Page struct {
	Ctx context.Context
	mu  sync.Mutex
	bad []string // console errors and uncaught exceptions
}

// New starts Chromium in a fresh profile and opens a tab, closed when the
// test ends. The flags keep Chromium off the network: on a closed machine
// its background connections are refused and would show up as errors.
func New(t testing.TB) *Page {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found and CI is set: install chromium (.ci/run does): %v", err)
		}
		t.Skipf("chromium not found (%v): the browser tests need Debian's chromium package", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	p := &Page{Ctx: bctx}
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				p.mu.Lock()
				p.bad = append(p.bad, m.String())
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// Do runs browser actions, failing the test on error.
func (p *Page) Do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(p.Ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Until waits for a JavaScript expression to become true.
func (p *Page) Until(t testing.TB, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(p.Ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// Eval returns the value of a JavaScript expression.
func Eval[T any](t testing.TB, p *Page, expr string) T {
	t.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// NoConsoleErrors fails the test for every error the page logged.
func (p *Page) NoConsoleErrors(t testing.TB) {
	t.Helper()
	time.Sleep(200 * time.Millisecond) // let the last console events arrive; not a timing assertion
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.bad {
		t.Errorf("console: %s", m)
	}
}

// ConsoleErrors is what the page logged as errors and uncaught exceptions
// so far.
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bad...)
}
