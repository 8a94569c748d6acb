package harness_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/harness/browsertest"
	"github.com/possim/possim/simulators/terminal"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/serial"
)

// TestDevicesDashboardDrawsQRReceipts: a POS prints a receipt with a QR
// code on possim devices' printer; the devices page shows it with the QR
// code drawn as an image.
func TestDevicesDashboardDrawsQRReceipts(t *testing.T) {
	p, rack := rackDashboard(t)

	port, err := serial.OpenRaw(rack.Paths()["printer"])
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	receipt := printer.NewBuilder(printer.ASCII).Init().Line("PAY WITH YOUR PHONE").QR("https://pay.example/t/42").Cut().Bytes()
	if err := printer.NewDriver(port).Print(t.Context(), receipt); err != nil {
		t.Fatal(err)
	}
	p.Until(t, "the receipt", `document.querySelector("#receipts .rc img.qr") !== null`)
	if got := browsertest.Eval[string](t, p, `document.querySelector("#receipts .rc img.qr").alt`); got != "QR: https://pay.example/t/42" {
		t.Errorf("QR image alt %q", got)
	}
	if !browsertest.Eval[bool](t, p, `(i => i.complete && i.naturalWidth > 100)(document.querySelector("#receipts .rc img.qr"))`) {
		t.Error("the QR image did not load (a data URI the page's policy refuses?)")
	}
	p.NoConsoleErrors(t)
}

// TestHostAdminDashboardInBrowser: the host admin API serves the page at
// /, which polls the host's request log and draws the ladder of what the
// host received and answered.
func TestHostAdminDashboardInBrowser(t *testing.T) {
	p := browsertest.New(t)
	ctx := t.Context()
	lab, err := harness.New(ctx, harness.Config{Dir: t.TempDir(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	admin := harness.NewHostAdmin(harness.HostAdminConfig{Host: lab.Host})
	if err := admin.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	p.Do(t, "opening the host's page", chromedp.Navigate("http://"+admin.Addr()+"/"))
	p.Until(t, "polling", `document.getElementById("conn").textContent === "live"`)
	if got := browsertest.Eval[string](t, p, `document.title`); got != "possim host" {
		t.Errorf("title %q", got)
	}

	if err := lab.Terminal.SignOn(ctx); err != nil {
		t.Fatal(err)
	}
	lab.Reader.Insert("visa-credit")
	lab.PINPad.Type("1234")
	if _, err := lab.Terminal.Sale(ctx, terminal.SaleRequest{Amount: 500}); err != nil {
		t.Fatal(err)
	}
	p.Until(t, "the sale's request", `document.querySelector('#ladder .lad.out[data-mti="0200"]') !== null`)
	p.Until(t, "the sale's answer", `document.querySelector('#ladder .lad.in[data-mti="0210"]') !== null`)
	if n := browsertest.Eval[int](t, p, `document.querySelectorAll('#ladder .lad[data-mti="0200"]').length`); n != 1 {
		t.Errorf("%d 0200 rows after polls, want 1 (each request once)", n)
	}
	if got := browsertest.Eval[string](t, p, `document.querySelector('#ladder .lad.out[data-mti="0200"] .sum').textContent`); got == "" {
		t.Error("the request row has no summary")
	}
	p.NoConsoleErrors(t)
}
