package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/possim/possim/possimtest"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/terminal"
	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
	"github.com/possim/possim/virtualdevices/serial"
)

// termHost starts our acquirer on loopback for the CLI to talk to.
func termHost(t *testing.T) string {
	t.Helper()
	return possimtest.NewHost(t).Addr()
}

// termCLI runs possim terminal with a shared state file and returns the
// exit code and stdout.
func termCLI(t *testing.T, host, state string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"terminal", "--host", host, "--state", state, "--timeout", "2s"}, args...)
	code := Main(context.Background(), full, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Logf("possim %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return code, out.String()
}

func TestTerminalCLI(t *testing.T) {
	host := termHost(t)
	state := filepath.Join(t.TempDir(), "term.json")

	// A terminal with no session signs on at power-on, and says so.
	if code, out := termCLI(t, host, state, "sale", "--amount", "1.00", "--card", "visa-credit", "--pin", "1234"); code != 0 ||
		!strings.Contains(out, "note: signed on to "+host+" as terminal ") || !strings.Contains(out, "SALE approved") {
		t.Fatalf("sale before sign-on: exit %d\n%s", code, out)
	}
	if _, out := termCLI(t, host, state, "sale", "--amount", "1.00", "--card", "visa-credit", "--pin", "1234"); strings.Contains(out, "signed on") {
		t.Errorf("signed on again with a session in the state file:\n%s", out)
	}
	if code, out := termCLI(t, host, state, "signon"); code != 0 || !strings.Contains(out, "SIGNED ON") {
		t.Fatalf("signon: exit %d\n%s", code, out)
	}
	code, out := termCLI(t, host, state, "sale", "--items", "6901234567892x2,bread", "--card", "visa-credit", "--entry", "chip", "--pin", "1234")
	if code != 0 || !strings.Contains(out, "SALE approved: CNY 15.00") || !strings.Contains(out, "MERCHANT COPY") || strings.Contains(out, "4761739001010010") {
		t.Fatalf("sale: exit %d\n%s", code, out)
	}
	// A chip card swiped: the terminal asks for the chip and the operator inserts it.
	if code, out := termCLI(t, host, state, "sale", "--amount", "20", "--card", "mc-debit", "--entry", "swipe", "--pin", "1234"); code != 0 {
		t.Fatalf("swiped chip card: exit %d\n%s", code, out)
	}
	if code, out := termCLI(t, host, state, "sale", "--amount", "1", "--card", "lost", "--pin", "1234"); code != 1 || !strings.Contains(out, "LOST CARD") {
		t.Fatalf("lost card: exit %d\n%s", code, out)
	}
	if code, _ := termCLI(t, host, state, "sale", "--card", "visa-credit"); code != 2 {
		t.Errorf("sale without amount: exit %d, want 2", code)
	}
	if code, _ := termCLI(t, host, state, "sale", "--amount", "1", "--card", "nosuch"); code != 2 {
		t.Errorf("unknown card: exit %d, want 2", code)
	}
	if code, _ := termCLI(t, host, state, "dance"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, out := termCLI(t, host, state, "qr", "--amount", "45.90", "--code", "281234567890123456"); code != 0 || !strings.Contains(out, "QR approved") {
		t.Fatalf("qr: exit %d\n%s", code, out)
	}

	code, out = termCLI(t, host, state, "--json", "log")
	var lg struct {
		Log []termTxnJSON `json:"log"`
	}
	if err := json.Unmarshal([]byte(out), &lg); err != nil || code != 0 {
		t.Fatalf("log --json: %v\n%s", err, out)
	}
	var saleSTAN string
	for _, x := range lg.Log {
		if x.Kind == terminal.KindSale && x.Amount == 1500 {
			saleSTAN = x.STAN
		}
	}
	if saleSTAN == "" {
		t.Fatalf("sale not in the log: %+v", lg.Log)
	}
	if code, out := termCLI(t, host, state, "refund", "--stan", saleSTAN, "--amount", "5"); code != 0 || !strings.Contains(out, "REFUND approved: CNY 5.00") {
		t.Fatalf("refund: exit %d\n%s", code, out)
	}
	if code, out := termCLI(t, host, state, "reprint"); code != 0 || !strings.Contains(out, "*** REPRINT ***") {
		t.Fatalf("reprint: exit %d\n%s", code, out)
	}
	code, out = termCLI(t, host, state, "--json", "settle")
	var st struct {
		OK     bool            `json:"ok"`
		Settle *termSettleJSON `json:"settle"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || !st.OK || !st.Settle.Balanced || st.Settle.NextBatch != 2 {
		t.Fatalf("settle: exit %d %v\n%s", code, err, out)
	}
}

// devicePTYs serves the four devices on ptys in dir, named as possim
// devices names them, for the profile's cards and keys.
func devicePTYs(t *testing.T, dir string) (*printer.Printer, *cardreader.Reader, *pinpad.Pad) {
	t.Helper()
	p := profile.Default()
	pr := printer.New(printer.Config{})
	reader, err := cardreader.New(cardreader.Config{Cards: cardreader.CardsFromProfile(p.Cards), IssuerMasterKey: p.Keys.IMK()})
	if err != nil {
		t.Fatal(err)
	}
	pad, err := pinpad.New(pinpad.Config{MasterKey: p.Keys.TMK()})
	if err != nil {
		t.Fatal(err)
	}
	sc := scanner.New(scanner.Config{})
	attach := map[string]func(io.ReadWriteCloser){"printer": pr.Attach, "cardreader": reader.Attach, "pinpad": pad.Attach, "scanner": sc.Attach}
	for name, a := range attach {
		pt, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(dir, name)})
		if err != nil {
			t.Fatal(err)
		}
		a(pt)
	}
	t.Cleanup(func() { pr.Close(); reader.Close(); pad.Close(); sc.Close() })
	return pr, reader, pad
}

// TestTerminalCLIDevices runs the CLI against device ptys laid out as
// possim devices lays them out; the operator acts on the devices directly.
func TestTerminalCLIDevices(t *testing.T) {
	host := termHost(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "term.json")
	pr, reader, pad := devicePTYs(t, dir)

	if code, out := termCLI(t, host, state, "--devices", dir, "signon"); code != 0 {
		t.Fatalf("signon: exit %d\n%s", code, out)
	}
	reader.Insert("mc-debit")
	pad.Type("1234")
	code, out := termCLI(t, host, state, "--devices", dir, "sale", "--amount", "5", "--card", "visa-credit")
	if code != 0 || !strings.Contains(out, "note: --card and --pin are ignored") || !strings.Contains(out, "541333******0012") {
		t.Fatalf("sale: exit %d\n%s", code, out)
	}
	if rs := pr.Receipts(); len(rs) != 2 || !strings.Contains(rs[0].Text, "541333******0012") {
		t.Fatalf("printer on the pty printed %d receipts", len(rs))
	}
}
