package harness_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/harness/browsertest"
	"github.com/possim/possim/scenarios"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/serial"
)

// These tests drive the dashboard and the HTML report in a real headless
// Chromium. Without Chromium they skip, except under CI (CI=1), where a
// missing browser is a failure: .ci/run installs it.

// TestBrowserSeesConsoleErrors: the console capture the other tests rely
// on catches a logged error and an uncaught exception.
func TestBrowserSeesConsoleErrors(t *testing.T) {
	p := browsertest.New(t)
	p.Do(t, "opening a page", chromedp.Navigate(`data:text/html,<script>console.error("logged");throw new Error("thrown")</script>`))
	p.Until(t, "the page", `document.readyState === "complete"`)
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = strings.Join(p.ConsoleErrors(), "\n")
		if strings.Contains(got, "logged") && strings.Contains(got, "thrown") {
			break
		}
	}
	if !strings.Contains(got, "logged") || !strings.Contains(got, "thrown") {
		t.Errorf("console capture saw %q, want the logged error and the exception", got)
	}
}

// rackDashboard serves the control API and its dashboard on loopback over
// a rack of devices on real ptys, and opens a browser on it once the event
// stream is live.
func rackDashboard(t *testing.T) (*browsertest.Page, *harness.Rack) {
	t.Helper()
	p := browsertest.New(t)
	rack, err := harness.NewRack(harness.RackConfig{Dir: t.TempDir(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rack.Close() })
	ctl := harness.NewControl(harness.ControlConfig{Printer: rack.Printer, Reader: rack.Reader, PINPad: rack.PINPad,
		Scanner: rack.Scanner, Recorder: rack.Recorder, Profile: rack.Profile})
	if err := ctl.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	p.Do(t, "opening the dashboard", chromedp.Navigate(ctl.URL()+"/"))
	p.Until(t, "the event stream", `document.getElementById("conn").textContent === "live"`)
	return p, rack
}

// TestDashboardInBrowser serves the dashboard from a real control API on
// loopback over a rack of devices on real ptys, and uses it as a person
// would: the page loads without errors, the insert button moves the card
// reader's status card, the event pane hides printer status polls until
// asked, filters by device, names ISO fields and keeps multi-line text in
// its column.
func TestDashboardInBrowser(t *testing.T) {
	p, rack := rackDashboard(t)
	p.Until(t, "the card picker", `document.getElementById("card").options.length > 0`)
	if got := browsertest.Eval[string](t, p, `document.querySelector("#dev-printer [data-pill]").textContent`); got != "ready" {
		t.Errorf("printer card says %q, want ready", got)
	}

	p.Do(t, "inserting a card", chromedp.Click(chromedp.CSS(`#dev-cardreader button[data-act="insert"]`)))
	p.Until(t, "the card reader's card", `document.querySelector("#dev-cardreader [data-state]").textContent.startsWith("card inserted")`)
	state := browsertest.Eval[string](t, p, `document.querySelector("#dev-cardreader").textContent`)
	if !strings.Contains(state, "******") {
		t.Errorf("card reader card shows no masked PAN: %q", state)
	}
	p.Until(t, "the insert event", `[...document.querySelectorAll("#events .ev")].some(r => r.dataset.source === "cardreader" && r.dataset.kind === "insert")`)

	p.Do(t, "opening the printer cover", chromedp.Click(chromedp.CSS(`#dev-printer button[data-act="open-cover"]`)))
	p.Until(t, "the printer card", `document.querySelector("#dev-printer [data-pill]").textContent === "cover open"`)

	// A POS polls the printer's status through its pty.
	port, err := serial.OpenRaw(rack.Paths()["printer"])
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if _, err := printer.NewDriver(port).Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.Until(t, "a status poll row", `document.querySelectorAll('#events .ev[data-poll="1"]').length > 0`)
	if n := browsertest.Eval[int](t, p, `[...document.querySelectorAll('#events .ev[data-poll="1"]')].filter(r => !r.hidden).length`); n != 0 {
		t.Errorf("%d printer polls shown by default, want none", n)
	}
	p.Do(t, "showing polls", chromedp.Click(chromedp.ID("polls")))
	if n := browsertest.Eval[int](t, p, `[...document.querySelectorAll('#events .ev[data-poll="1"]')].filter(r => !r.hidden).length`); n == 0 {
		t.Error("printer polls still hidden after ticking the toggle")
	}

	// Events from the host side: fields named, text kept in its column.
	rack.Recorder.Add(harness.Event{Source: "terminal", Kind: "iso_in", MTI: "0210", Fields: map[string]string{"39": "00", "22": "051"}})
	rack.Recorder.Add(harness.Event{Source: "terminal", Kind: "alert", Text: "first line\nsecond line\nthird line"})
	p.Until(t, "the ISO event", `[...document.querySelectorAll("#events .ev")].some(r => r.textContent.includes("39 response code = 00 (approved)"))`)
	if got := browsertest.Eval[string](t, p, `[...document.querySelectorAll("#events .ev")].find(r => r.dataset.kind === "iso_in").textContent`); !strings.Contains(got, "22 POS entry mode = 051 (chip, PIN)") {
		t.Errorf("ISO event row: %q", got)
	}
	p.Until(t, "the alert", `[...document.querySelectorAll("#events .ev")].some(r => r.dataset.kind === "alert")`)
	inColumn := browsertest.Eval[bool](t, p, `(() => {
		const row = [...document.querySelectorAll("#events .ev")].find(r => r.dataset.kind === "alert");
		const msg = row.querySelector(".msg").getBoundingClientRect(), kind = row.querySelector(".kind").getBoundingClientRect();
		const one = [...document.querySelectorAll("#events .ev")].find(r => r.dataset.kind === "insert").querySelector(".msg").getBoundingClientRect();
		return msg.left >= kind.right && msg.left === one.left && msg.height > 2 * one.height;
	})()`)
	if !inColumn {
		t.Error("the three-line event left its column")
	}

	// Filter by device: untick the card reader.
	p.Do(t, "hiding the card reader", chromedp.Click(chromedp.CSS(`#sources input[data-source="cardreader"]`)))
	if n := browsertest.Eval[int](t, p, `[...document.querySelectorAll('#events .ev[data-source="cardreader"]')].filter(r => !r.hidden).length`); n != 0 {
		t.Errorf("%d card reader events shown after unticking it", n)
	}
	if n := browsertest.Eval[int](t, p, `[...document.querySelectorAll('#events .ev[data-source="terminal"]')].filter(r => !r.hidden).length`); n != 2 {
		t.Errorf("%d terminal events shown, want 2", n)
	}
	p.Do(t, "filtering by kind", chromedp.SendKeys(chromedp.ID("kind"), "iso"))
	if n := browsertest.Eval[int](t, p, `[...document.querySelectorAll("#events .ev")].filter(r => !r.hidden).length`); n != 1 {
		t.Errorf("%d events shown for kind iso, want the one iso_in", n)
	}
	p.NoConsoleErrors(t)
}

// reportFeature is a feature of a failing scenario and an outline, next to
// the real preparation features, so the report has passes, a failure and
// outline rows in more than one group.
const reportFeature = `@checks
Feature: Report checks

  Scenario Outline: receipts counted
    Given a lab with the default profile
    Then <n> receipts were printed

    Examples:
      | n |
      | 0 |

  @broken
  Scenario: receipts that never came
    Given a lab with the default profile
    Then 2 receipts were printed
`

// TestReportInBrowser opens the HTML report of a real run in the browser:
// scenarios are grouped by feature file, failures first (the failing
// group before the passing one, the failure before the outline row
// written above it), the search box narrows them, the tag filter and a
// click on a tag keep the scenarios of that tag, each scenario shows its
// wall-clock and simulated time, the timeline has a bar per scenario, and
// the failed filter leaves only the failure.
func TestReportInBrowser(t *testing.T) {
	p := browsertest.New(t)
	dir := t.TempDir()
	feature := filepath.Join(dir, "report-checks.feature")
	if err := os.WriteFile(feature, []byte(reportFeature), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.html")
	var out strings.Builder
	// What possim run does, with its default time scale.
	res, err := scenarios.Run(t.Context(), scenarios.Options{Paths: []string{"../features/preparation/hardware-check.feature", feature},
		Format: "progress", HTML: report, Seed: 1, Concurrency: 1, TimeScale: 0.05, Output: &out})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if res.Failed() != 1 {
		t.Fatalf("%d failures, want 1:\n%s", res.Failed(), out.String())
	}

	p.Do(t, "opening the report", chromedp.Navigate("file://"+report))
	groups := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("details.group")].map(g => g.dataset.file)`)
	if len(groups) != 2 || groups[0] != feature || !strings.HasSuffix(groups[1], "hardware-check.feature") {
		t.Fatalf("groups %q, want %s (its failure first) and hardware-check.feature", groups, feature)
	}
	order := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("details.group")[0].querySelectorAll("details.scn")].map(s => s.dataset.status + " " + s.querySelector(".name").textContent)`)
	if want := []string{"failed receipts that never came", "passed receipts counted"}; strings.Join(order, "|") != strings.Join(want, "|") {
		t.Errorf("scenarios of the failing group in order %q, want %q", order, want)
	}
	total := browsertest.Eval[int](t, p, `document.querySelectorAll("details.scn").length`)
	if n := browsertest.Eval[int](t, p, `document.querySelectorAll("svg.timeline rect.bar").length`); n != total {
		t.Errorf("timeline has %d bars for %d scenarios", n, total)
	}
	if n := browsertest.Eval[int](t, p, `document.querySelectorAll("svg.timeline rect.bar.failed").length`); n != 1 {
		t.Errorf("timeline has %d failed bars, want 1", n)
	}
	if n := browsertest.Eval[int](t, p, `[...document.querySelectorAll("details.scn")].filter(s => s.querySelector("small.dur") && s.querySelector("small.sim")).length`); n != total {
		t.Errorf("%d of %d scenarios show both their duration and their simulated time", n, total)
	}
	shown := func() int {
		return browsertest.Eval[int](t, p, `[...document.querySelectorAll("details.scn")].filter(s => !s.hidden && !s.closest("details.group").hidden).length`)
	}
	if shown() != total || total < 4 {
		t.Fatalf("%d of %d scenarios shown at first", shown(), total)
	}

	p.Do(t, "searching", chromedp.SendKeys(chromedp.ID("q"), "never came"))
	if n := shown(); n != 1 {
		t.Errorf("search %q shows %d scenarios, want 1", "never came", n)
	}
	if browsertest.Eval[bool](t, p, `!document.querySelector('details.group[data-file$="hardware-check.feature"]').hidden`) {
		t.Error("a group with no match stays shown")
	}
	browsertest.Eval[bool](t, p, `(q => { q.value = ""; return q.dispatchEvent(new Event("input")); })(document.getElementById("q"))`)
	if n := shown(); n != total {
		t.Errorf("%d of %d scenarios shown after clearing the search", n, total)
	}

	tagged := func() []string {
		return browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("details.scn")].filter(s => !s.hidden && !s.closest("details.group").hidden).map(s => s.querySelector(".name").textContent)`)
	}
	browsertest.Eval[bool](t, p, `(s => { s.value = "@checks"; return s.dispatchEvent(new Event("change")); })(document.getElementById("tag"))`)
	if got := tagged(); len(got) != 2 {
		t.Errorf("tag @checks (the feature's) shows %q, want its 2 scenarios", got)
	}
	p.Do(t, "clicking a tag", chromedp.Click(chromedp.CSS(`details.scn .tag[data-tag="@broken"]`)))
	if got := tagged(); len(got) != 1 || got[0] != "receipts that never came" {
		t.Errorf("a click on @broken shows %q, want the one scenario tagged so", got)
	}
	if got := browsertest.Eval[string](t, p, `document.getElementById("tag").value`); got != "@broken" {
		t.Errorf("tag filter reads %q after the click, want @broken", got)
	}
	browsertest.Eval[bool](t, p, `(s => { s.value = ""; return s.dispatchEvent(new Event("change")); })(document.getElementById("tag"))`)
	if n := shown(); n != total {
		t.Errorf("%d of %d scenarios shown with all tags", n, total)
	}

	p.Do(t, "filtering failures", chromedp.Click(chromedp.CSS(`button[data-filter="failed"]`)))
	statuses := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("details.scn")].filter(s => !s.hidden).map(s => s.dataset.status)`)
	if len(statuses) != 1 || statuses[0] != "failed" {
		t.Errorf("failed filter shows %q, want the one failure", statuses)
	}
	if got := browsertest.Eval[string](t, p, `document.getElementById("shown").textContent`); got != "1" {
		t.Errorf("shown count %q, want 1", got)
	}
	if got := browsertest.Eval[string](t, p, `[...document.querySelectorAll('details.group:first-of-type details.scn .ex')].map(e => e.textContent).join("|")`); got != "n = 0" {
		t.Errorf("outline row example %q, want %q", got, "n = 0")
	}
	browsertest.Eval[bool](t, p, `(s => { s.open = true; s.closest("details.group").open = true; return true; })(document.querySelector('details.scn[data-status="failed"]'))`)
	// The picture in docs shows where a feature of the repository would be,
	// not the test's temporary folder.
	browsertest.Eval[bool](t, p, `(dir => { for (const e of document.querySelectorAll("body *")) if (e.children.length === 0 && e.textContent.includes(dir)) e.textContent = e.textContent.replaceAll(dir, "features/checks"); return true; })(`+strconv.Quote(dir)+`)`)
	p.Screenshot(t, "report")
	p.NoConsoleErrors(t)
}
