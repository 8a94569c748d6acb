package harness_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/scenarios"
	"github.com/possim/possim/simulators/terminal"
)

// waitFor polls the dashboard's timeline until want finds an event: the
// dashboard copies events at once but reads receipts and the ledger on
// its own goroutine.
func waitFor(t *testing.T, rec *harness.Recorder, what string, want func(harness.Event) bool) harness.Event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, e := range rec.Events() {
			if want(e) {
				return e
			}
		}
	}
	t.Fatalf("no %s on the dashboard's timeline:\n%v", what, rec.Events())
	return harness.Event{}
}

// TestLabDashboardShowsASale: an attached lab's events reach the
// dashboard's timeline, with the receipt as the printer rendered it and
// the ledger's posting and balance, which the lab's own timeline does not
// get (its JSONL must not change with the dashboard).
func TestLabDashboardShowsASale(t *testing.T) {
	ctx := t.Context()
	lab, err := harness.New(ctx, harness.Config{Dir: t.TempDir(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	d := harness.NewLabDashboard(harness.LabDashboardConfig{Title: "test"})
	defer d.Close()
	d.Attach("a sale", lab)

	if err := lab.Terminal.SignOn(ctx); err != nil {
		t.Fatal(err)
	}
	lab.Reader.Insert("visa-credit")
	lab.PINPad.Type("1234")
	txn, err := lab.Terminal.Sale(ctx, terminal.SaleRequest{Amount: 1234})
	if err != nil || txn.Status != terminal.StatusApproved {
		t.Fatalf("sale: %v %v", txn, err)
	}
	rec := d.Recorder()
	waitFor(t, rec, "lab start", func(e harness.Event) bool { return e.Source == "lab" && e.Kind == "start" && e.Text == "a sale" })
	waitFor(t, rec, "card insertion", func(e harness.Event) bool { return e.Source == "cardreader" && e.Kind == "insert" })
	waitFor(t, rec, "0210", func(e harness.Event) bool { return e.Source == "terminal" && e.MTI == "0210" && e.Code == "00" })
	p := waitFor(t, rec, "posting", func(e harness.Event) bool { return e.Source == "ledger" && e.Kind == "posting" })
	if p.Fields["gross"] != "12.34" || p.Fields["type"] == "" {
		t.Errorf("posting %v, want gross 12.34 and its type", p.Fields)
	}
	b := waitFor(t, rec, "balance", func(e harness.Event) bool { return e.Source == "ledger" && e.Kind == "balance" })
	if b.Fields["merchant"] != lab.Terminal.MerchantID() || !regexp.MustCompile(`^[\d,]+\.\d\d$`).MatchString(b.Fields["balance"]) {
		t.Errorf("balance %v", b.Fields)
	}
	r := waitFor(t, rec, "printed receipt", func(e harness.Event) bool { return e.Source == "printer" && e.Kind == "printed" })
	if !strings.Contains(r.Fields["html"], `class="receipt"`) || r.Fields["seq"] != "1" {
		t.Errorf("printed receipt fields: seq %q html %.80q", r.Fields["seq"], r.Fields["html"])
	}
	// The customer's and the merchant's copy are cut together: each is shown.
	if n := len(lab.Printer.Receipts()); n < 2 {
		t.Fatalf("%d receipts printed, want both copies", n)
	}
	for _, r := range lab.Printer.Receipts() {
		waitFor(t, rec, "receipt "+strconv.Itoa(r.Seq), func(e harness.Event) bool { return e.Kind == "printed" && e.Fields["seq"] == strconv.Itoa(r.Seq) })
	}
	for _, e := range rec.Events() {
		if strings.Contains(e.Text+e.Fields["html"]+e.Fields["2"], "4761730000000010") {
			t.Errorf("a PAN in clear on the dashboard: %v", e)
		}
	}
	for _, e := range lab.Recorder.Events() {
		if e.Source == "ledger" || e.Kind == "printed" || e.Source == "lab" {
			t.Errorf("the dashboard wrote into the lab's own timeline: %v", e)
		}
	}
}

// TestLabDashboardFollowsScenarios: possim run --dashboard's wiring, a
// run's labs attached one after another.
func TestLabDashboardFollowsScenarios(t *testing.T) {
	d := harness.NewLabDashboard(harness.LabDashboardConfig{})
	defer d.Close()
	var out strings.Builder
	res, err := scenarios.Run(t.Context(), scenarios.Options{Paths: []string{"../features/preparation/hardware-check.feature"},
		Format: "progress", Seed: 1, Concurrency: 1, TimeScale: 0.05, Output: &out, OnLab: d.Attach})
	if err != nil || res.Status != 0 {
		t.Fatalf("run: %v %d\n%s", err, res.Status, out.String())
	}
	var started []string
	for _, e := range d.Recorder().Filter("lab", "start") {
		started = append(started, e.Text)
	}
	if len(started) != len(res.Scenarios) || len(started) < 2 {
		t.Fatalf("labs shown %q, want one per scenario (%d)", started, len(res.Scenarios))
	}
	if len(d.Recorder().Filter("terminal", "")) == 0 {
		t.Error("no terminal event reached the dashboard")
	}
}

// TestReceiptHTMLDrawsQRCodes: a receipt that prints a QR code shows a
// real QR code image carrying the payload; a receipt without one is left
// as the printer rendered it.
func TestReceiptHTMLDrawsQRCodes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantImg  bool
	}{
		{"qr", `<div class="receipt"><div style="white-space:pre"><div class="qr" style="display:inline-block">QR<br>https://pay.example/?a=1&amp;b=2</div></div></div>`, true},
		{"text", `<div class="receipt"><div style="white-space:pre">TOTAL 12.34</div></div>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := harness.ReceiptHTMLForTest(tc.in)
			if !tc.wantImg {
				if got != tc.in {
					t.Errorf("changed a receipt without a QR code:\n%s", got)
				}
				return
			}
			m := regexp.MustCompile(`<img class="qr"[^>]* alt="QR: ([^"]*)"[^>]* src="data:image/png;base64,([^"]+)">`).FindStringSubmatch(got)
			if m == nil || strings.Contains(got, "QR<br>") {
				t.Fatalf("no QR image in place of the box:\n%s", got)
			}
			if m[1] != "https://pay.example/?a=1&amp;b=2" {
				t.Errorf("alt text %q, want the payload escaped once", m[1])
			}
			raw, err := base64.StdEncoding.DecodeString(m[2])
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("the QR image is no PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 100 || b.Dx() != b.Dy() {
				t.Errorf("QR image %v, want a square of 100 pixels or more", b)
			}
		})
	}
}

// TestDashboardPagesServed: the page each server gives at /, told which
// data it reads, and allowed its QR images and nothing from elsewhere.
func TestDashboardPagesServed(t *testing.T) {
	lab, err := harness.New(t.Context(), harness.Config{Dir: t.TempDir(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	admin := harness.NewHostAdmin(harness.HostAdminConfig{Host: lab.Host})
	d := harness.NewLabDashboard(harness.LabDashboardConfig{Title: "possim run"})
	defer d.Close()
	for _, tc := range []struct {
		name string
		h    http.Handler
		want string
	}{
		{"host admin", admin, `{"title":"possim host","mode":"host"}`},
		{"lab", harness.DashboardHandlerForTest(d), `{"title":"possim run","mode":"events"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil))
			if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
				t.Fatalf("GET /: %d %s", w.Code, w.Header().Get("Content-Type"))
			}
			if !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("page has no config %s", tc.want)
			}
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "img-src data:") {
				t.Errorf("policy %q", csp)
			}
			if strings.Contains(w.Body.String(), "{{") {
				t.Error("a placeholder left in the page")
			}
		})
	}
}
