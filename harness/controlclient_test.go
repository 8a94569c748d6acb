package harness

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/serial"
)

// printOnPTY plays the POS: it prints one receipt through DIR/printer.
func printOnPTY(t *testing.T, rack *Rack, line string) {
	t.Helper()
	port, err := serial.OpenRaw(rack.Paths()["printer"])
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	receipt := printer.NewBuilder(printer.ASCII).Init().Line(line).Cut().Bytes()
	if err := printer.NewDriver(port).Print(t.Context(), receipt); err != nil {
		t.Fatal(err)
	}
}

func TestControlClientActsReadsAndResets(t *testing.T) {
	f := newControlFixture(t)
	ctx := t.Context()
	c := NewControlClient(strings.TrimPrefix(f.srv.URL, "http://"), "")
	var _ Devices = c

	// A receipt from before the reset belongs to someone else's run.
	printOnPTY(t, f.rack, "EARLIER RUN")
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if rs, err := c.Receipts(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("receipts right after reset = %v, %v; want none", rs, err)
	}
	printOnPTY(t, f.rack, "THIS RUN")
	rs, err := c.Receipts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Seq != 2 || !strings.Contains(rs[0].Text, "THIS RUN") {
		t.Fatalf("receipts = %+v; want receipt 2 only", rs)
	}

	// The device's state as the steps read it, and the reset undoing it.
	for _, a := range []string{"paper-out", "open-cover", "break"} {
		if err := c.Act(ctx, "printer", a, ""); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.PrinterStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.PaperOut || !st.CoverOpen || !st.Error || st.Ready() {
		t.Errorf("printer status after paper-out, open-cover, break = %+v", st)
	}
	if err := c.Act(ctx, "cardreader", "insert", "visa-credit"); err != nil {
		t.Fatal(err)
	}
	err = c.Act(ctx, "cardreader", "insert", "mc-debit")
	if err == nil || !strings.Contains(err.Error(), "409 Conflict") || !strings.Contains(err.Error(), "already inserted") {
		t.Errorf("second insert: %v; want the reader's 409 refusal", err)
	}
	for _, a := range [][2]string{{"scanner", "break"}, {"pinpad", "break"}, {"cardreader", "unplug"}} {
		if err := c.Act(ctx, a[0], a[1], ""); err != nil {
			t.Fatal(err)
		}
	}

	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.PrinterStatus(ctx); err != nil || !st.Ready() || st.PaperNearEnd {
		t.Errorf("printer after reset = %+v, %v; want ready", st, err)
	}
	if f.rack.Scanner.Broken() {
		t.Error("scanner still broken after reset")
	}
	// The slot is empty again: a new card goes in.
	if err := c.Act(ctx, "cardreader", "insert", "mc-debit"); err != nil {
		t.Errorf("insert after reset: %v", err)
	}
	if rs, err := c.Receipts(ctx); err != nil || len(rs) != 0 {
		t.Errorf("receipts after the second reset = %v, %v; want none", rs, err)
	}
	// Each reset fixes the pad, the one after break included.
	if events := f.rack.Recorder.Filter("pinpad", "fix"); len(events) != 2 {
		t.Errorf("pinpad fix events after two resets = %v; want 2", events)
	}
}

func TestControlClientPassesBadInputErrors(t *testing.T) {
	f := newControlFixture(t)
	c := NewControlClient(f.srv.URL, "")
	tests := []struct {
		device, action, arg string
		want                string
	}{
		{"cardreader", "insert", "amex", `400 Bad Request: unknown card "amex"; valid cards: visa-credit`},
		{"pinpad", "type", "12", "400 Bad Request: bad PIN"},
		{"scanner", "scan", "", "400 Bad Request: a code of 1 to 4096 characters is required"},
		{"printer", "explode", "", `unknown printer action "explode"; valid actions: break`},
	}
	for _, tt := range tests {
		err := c.Act(t.Context(), tt.device, tt.action, tt.arg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s %q: %v; want %q", tt.device, tt.action, tt.arg, err, tt.want)
		}
	}
}

func TestControlClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := NewControlClient(addr, "")
	err = c.Act(t.Context(), "cardreader", "insert", "visa-credit")
	want := "cardreader insert: control API at " + addr + ": connection refused — start possim devices --control " + addr
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	if err := c.Reset(t.Context()); err == nil || !strings.Contains(err.Error(), "resetting the devices: control API at "+addr+": connection refused") {
		t.Errorf("reset: %v", err)
	}
}

func TestControlClientToken(t *testing.T) {
	rack, _ := newTestRack(t)
	ctl := NewControl(ControlConfig{Printer: rack.Printer, Recorder: rack.Recorder, Token: "s3cret"})
	srv := httptest.NewServer(ctl)
	t.Cleanup(func() { ctl.Close(); srv.Close() })

	err := NewControlClient(srv.URL, "wrong").Act(t.Context(), "printer", "paper-out", "")
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "POSSIM_TOKEN") {
		t.Errorf("wrong token: %v; want 401 and a hint at POSSIM_TOKEN", err)
	}
	if err := NewControlClient(srv.URL, "s3cret").Act(t.Context(), "printer", "paper-out", ""); err != nil {
		t.Fatal(err)
	}
	if !rack.Printer.Status().PaperOut {
		t.Error("paper-out with the right token did not reach the printer")
	}
}

// TestControlReset is POST /api/reset as a script sends it.
func TestControlReset(t *testing.T) {
	f := newControlFixture(t)
	printOnPTY(t, f.rack, "ONE")
	f.rack.Printer.OpenCover()
	f.rack.Printer.PaperOut()
	f.rack.Scanner.Garble()
	if err := f.rack.Reader.Insert("visa-credit"); err != nil {
		t.Fatal(err)
	}

	code, body := f.do(t, http.MethodPost, "/api/reset", "", nil)
	if code != http.StatusOK {
		t.Fatalf("POST /api/reset: %d %s", code, body)
	}
	var got struct {
		OK          bool `json:"ok"`
		LastReceipt int  `json:"last_receipt"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if !got.OK || got.LastReceipt != 1 {
		t.Errorf("reset answered %s; want ok and last_receipt 1", body)
	}
	if st := f.rack.Printer.Status(); !st.Ready() {
		t.Errorf("printer after reset: %+v", st)
	}
	if f.rack.Scanner.Broken() {
		t.Error("scanner broken after reset")
	}
	if err := f.rack.Reader.Insert("mc-debit"); err != nil {
		t.Errorf("the slot is not empty after reset: %v", err)
	}
	if code, body := f.do(t, http.MethodGet, "/api/reset", "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/reset: %d %s; want 405", code, body)
	}
}

func TestLocalDevicesUnknownAction(t *testing.T) {
	var d LocalDevices
	err := d.Act(t.Context(), "printer", "explode", "")
	if err == nil || !strings.Contains(err.Error(), `"printer" "explode"`) {
		t.Errorf("unknown action: %v", err)
	}
}
