package possimtest

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
	"github.com/possim/possim/virtualdevices/serial"
)

const merchant = "123456789012345" // Demo Mart, the default profile's

func TestHostAndTerminalOverLoopback(t *testing.T) {
	ctx := t.Context()
	host := NewHost(t)
	if !strings.HasPrefix(host.Addr(), "127.0.0.1:") {
		t.Fatalf("host address %q, want one on loopback", host.Addr())
	}
	term := NewTerminal(t, host.Addr())
	if !host.SignedOn(term.ID()) {
		t.Fatalf("the host has not seen %s sign on", term.ID())
	}

	sale, err := term.Sale(ctx, Sale{Amount: 1234, Card: "visa-credit", PIN: "1234"})
	if err != nil || !sale.Approved() || sale.Amount != 1234 || sale.ResponseCode != "00" {
		t.Fatalf("sale = %+v, %v; want approved 12.34 with 00", sale, err)
	}
	if !strings.HasPrefix(sale.MaskedPAN, "476173") || strings.Contains(sale.MaskedPAN, "4761739001010010") {
		t.Errorf("masked PAN %q: want 6+4 masked", sale.MaskedPAN)
	}
	if n := len(term.Printed()); n == 0 {
		t.Error("no receipt printed for an approved sale")
	}

	// What the host received and answered, named and masked.
	var fin *Exchange
	for _, x := range host.Requests() {
		if x.Request.MTI == "0200" {
			fin = &x
		}
	}
	if fin == nil || fin.Response == nil {
		t.Fatalf("no answered 0200 among the host's requests: %+v", host.Requests())
	}
	f3, _ := fin.Request.Field(3)
	if f3.Name != "Processing Code" || f3.Meaning != "purchase" {
		t.Errorf("field 3 = %+v; want named Processing Code, meaning purchase", f3)
	}
	if pan := fin.Request.Value(2); pan == "" || strings.Contains(pan, "4761739001010010") {
		t.Errorf("field 2 %q: want the PAN masked", pan)
	}
	if fin.Response.MTI != "0210" || fin.Response.Code != "00" {
		t.Errorf("answer %s %s, want 0210 00", fin.Response.MTI, fin.Response.Code)
	}
	if f52 := fin.Request.Value(52); f52 != "" && !strings.HasPrefix(f52, "[") {
		t.Errorf("PIN block in clear in the requests: %q", f52)
	}

	// The ledger has the sale: D0 credited, invariants hold.
	bal, err := host.Ledger().Balance(ctx, merchant)
	if err != nil || bal <= 0 || bal > 1234 {
		t.Errorf("balance = %d, %v; want the net of 12.34", bal, err)
	}
	if err := host.Ledger().Verify(ctx); err != nil {
		t.Error(err)
	}
	stmt, err := host.Ledger().Statement(ctx, merchant, time.Now())
	if err != nil || stmt.Count != 1 || stmt.Gross != 1234 {
		t.Errorf("statement = %+v, %v; want the one sale of 12.34", stmt, err)
	}

	// Runtime knobs.
	if _, err := host.SetFault(Fault{Action: FaultRespond, Code: "51", Match: FaultMatch{MTI: "0200"}}); err != nil {
		t.Fatal(err)
	}
	declined, err := term.Sale(ctx, Sale{Amount: 500, Card: "visa-credit", PIN: "1234"})
	if err != nil || declined.Status != "declined" || declined.ResponseCode != "51" {
		t.Errorf("sale under a respond-51 fault = %+v, %v; want declined 51", declined, err)
	}
	if err := host.SetCardStatus("visa-credit", "lost"); err != nil {
		t.Fatal(err)
	}
	lost, _ := term.Sale(ctx, Sale{Amount: 500, Card: "visa-credit", PIN: "1234"})
	if lost.Approved() {
		t.Errorf("sale with a lost card approved: %+v", lost)
	}
	if err := host.SetCardStatus("nosuchcard", "lost"); err == nil || !strings.Contains(err.Error(), "visa-credit") {
		t.Errorf("unknown card: err %v, want one listing the valid cards", err)
	}
	if err := host.SetCardStatus("visa-credit", "mislaid"); err == nil || !strings.Contains(err.Error(), "stolen") {
		t.Errorf("unknown status: err %v, want one listing the valid statuses", err)
	}
	if err := host.Maintenance("respond91"); err != nil {
		t.Fatal(err)
	}
	m, _ := term.Sale(ctx, Sale{Amount: 500, Card: "mc-debit", PIN: "1234"})
	if m.ResponseCode != "91" {
		t.Errorf("sale in maintenance = %+v; want 91", m)
	}
	if err := host.Maintenance("sideways"); err == nil || !strings.Contains(err.Error(), "refuse") {
		t.Errorf("bad maintenance mode: err %v, want the valid ones listed", err)
	}
	if err := host.Maintenance("off"); err != nil {
		t.Fatal(err)
	}

	// Void and settle the approved sale.
	v, err := term.Void(ctx, sale.STAN)
	if err != nil || !v.Approved() {
		t.Errorf("void = %+v, %v; want approved", v, err)
	}
	st, err := term.Settle(ctx)
	if err != nil || st.ResponseCode != "00" || st.SalesCount != 0 {
		t.Errorf("settle = %+v, %v; want 00 with no sales left (voided)", st, err)
	}
	if err := host.Ledger().Verify(ctx); err != nil {
		t.Error(err)
	}
}

// rawSale is what the caller's own terminal or switch sends: a keyed 0200
// from TERM0001 that never signed on. It returns field 39 of the answer.
func rawSale(t *testing.T, addr string) string {
	t.Helper()
	now := time.Now()
	m, err := iso.NewMessage(&iso.Financial{MTI: "0200", PAN: "4761739001010010", ProcessingCode: "000000",
		Amount: "000000000100", TransmissionDT: now.Format("0102150405"), STAN: "000042",
		LocalTime: now.Format("150405"), LocalDate: now.Format("0102"), Expiry: "3012", EntryMode: "012",
		ConditionCode: "00", TerminalID: "TERM0001", MerchantID: merchant, Currency: "156", Reserved60: "0000012.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	packed, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(iso.Frame(packed)); err != nil {
		t.Fatal(err)
	}
	n, err := iso.ReadLength(c)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	resp := iso8583.NewMessage(iso.Spec87)
	if err := resp.Unpack(buf); err != nil {
		t.Fatal(err)
	}
	rc, err := resp.GetString(39)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func TestRequireSignOn(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"required", []Option{RequireSignOn()}, "58"},
		{"not required", nil, "00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := NewHost(t, tc.opts...)
			if got := rawSale(t, host.Addr()); got != tc.want {
				t.Errorf("0200 before sign-on answered %s; want %s", got, tc.want)
			}
			xs := host.Requests()
			if len(xs) != 1 || xs[0].Response == nil || xs[0].Response.Code != tc.want {
				t.Errorf("host requests = %+v; want the one 0200 answered %s", xs, tc.want)
			}
		})
	}
}

func TestDevicesOnPTYs(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	d := NewDevices(t)
	for _, name := range DeviceNames() {
		if d.Path(name) == "" {
			t.Fatalf("no path for %s", name)
		}
	}
	if d.Path("modem") != "" {
		t.Error("a path for a device that does not exist")
	}

	// POS software prints through the printer's pty.
	pp, err := serial.OpenRaw(d.Path("printer"))
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	var rc bytes.Buffer
	rc.WriteString("\x1b@HELLO FROM THE POS\n")
	rc.WriteString("\x1dV\x00")
	pdrv := printer.NewDriver(pp)
	if err := pdrv.Print(ctx, rc.Bytes()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the receipt", func() bool { return len(d.Printed()) == 1 })
	if got := d.Printed()[0].Text; !strings.Contains(got, "HELLO FROM THE POS") {
		t.Errorf("printed %q", got)
	}

	// Paper out is what the POS reads back over the pty.
	d.PaperOut()
	if st, err := pdrv.Status(ctx); err != nil || !st.PaperOut {
		t.Errorf("status after PaperOut = %+v, %v; want paper out", st, err)
	}
	d.LoadPaper()
	if st, err := pdrv.Status(ctx); err != nil || !st.Ready() {
		t.Errorf("status after LoadPaper = %+v, %v; want ready", st, err)
	}

	// A scan reaches the POS through the scanner's pty.
	sp, err := serial.OpenRaw(d.Path("scanner"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	drv := scanner.NewDriver(sp, nil)
	if err := d.Scan("6901234567892"); err != nil {
		t.Fatal(err)
	}
	code, err := drv.ReadScan(ctx)
	if err != nil || code != "6901234567892" {
		t.Errorf("read %q, %v", code, err)
	}
	if err := d.Insert("nosuchcard"); err == nil {
		t.Error("inserting a card the profile does not have: no error")
	}
}

func TestLabSale(t *testing.T) {
	for _, wired := range []bool{false, true} {
		name := map[bool]string{false: "virtual", true: "wired"}[wired]
		t.Run(name, func(t *testing.T) {
			var opts []Option
			if wired {
				opts = append(opts, Wired())
			}
			lab := NewLab(t, opts...)
			if wired != (lab.Host().Addr() != "") {
				t.Errorf("host address %q in a %s lab", lab.Host().Addr(), name)
			}
			r, err := lab.Terminal().Sale(t.Context(), Sale{Amount: 2000, Card: "mc-debit", Entry: "chip", PIN: "1234"})
			if err != nil || !r.Approved() {
				t.Fatalf("sale = %+v, %v", r, err)
			}
			if len(lab.Devices().Printed()) == 0 {
				t.Error("no receipt")
			}
			xs := lab.Host().Requests() // echo, sign-on, sale
			if len(xs) < 3 || xs[len(xs)-1].Request.MTI != "0200" || xs[len(xs)-1].Response == nil {
				t.Errorf("host requests: %+v", xs)
			}
			if err := lab.Host().Ledger().Verify(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCleanup builds every part in a subtest and checks, once the subtest
// is over, that everything was closed before its directory was removed and
// that no goroutine outlived it.
func TestCleanup(t *testing.T) {
	before := runtime.NumGoroutine()
	var d *Devices
	t.Run("parts", func(t *testing.T) {
		host := NewHost(t)
		d = NewDevices(t)
		term := NewTerminal(t, host.Addr())
		if _, err := term.Sale(t.Context(), Sale{Amount: 100, Card: "visa-credit", Entry: "tap"}); err != nil {
			t.Fatal(err)
		}
		NewLab(t, Wired())
	})
	if !d.dirAtClose {
		t.Error("the devices' directory was removed before the devices were closed")
	}
	if _, err := os.Stat(d.dir); !os.IsNotExist(err) {
		t.Errorf("the devices' directory is still there: %v", err)
	}
	var now int
	for range 200 { // goroutines end just after Close returns; allow them 2s
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Errorf("%d goroutines before, %d after the parts were closed:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for range 500 {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestNoSignOn(t *testing.T) {
	host := NewHost(t)
	term := NewTerminal(t, host.Addr(), NoSignOn())
	if host.SignedOn(term.ID()) {
		t.Fatal("NoSignOn: the terminal signed on anyway")
	}
	if _, err := term.Sale(t.Context(), Sale{Amount: 100, Card: "visa-credit", Entry: "tap"}); err == nil {
		t.Error("a sale before sign-on: no error")
	}
	if err := term.SignOn(t.Context()); err != nil || !host.SignedOn(term.ID()) {
		t.Errorf("SignOn: %v; host says signed on: %v", err, host.SignedOn(term.ID()))
	}
}

// A lab's host takes RequireSignOn too: with the lab's terminal not signed
// on, a sale under its terminal ID is declined 58.
func TestLabRequireSignOn(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"required", []Option{Wired(), NoSignOn(), RequireSignOn()}, "58"},
		{"not required", []Option{Wired(), NoSignOn()}, "00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := NewLab(t, tc.opts...)
			if got := rawSale(t, lab.Host().Addr()); got != tc.want {
				t.Errorf("0200 before sign-on answered %s; want %s", got, tc.want)
			}
		})
	}
}
