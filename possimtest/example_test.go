package possimtest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/possim/possim/possimtest"
)

// exampleT stands in for the *testing.T a real test passes: examples have
// none. It keeps the cleanups and runs them, newest first, at done.
type exampleT struct {
	testing.TB // nil: only the methods below are called
	cleanups   []func()
	dirs       []string
}

func (t *exampleT) Helper()                           {}
func (t *exampleT) Name() string                      { return "Example" }
func (t *exampleT) Context() context.Context          { return context.Background() }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(format string, args ...any) { fmt.Printf("error: "+format+"\n", args...) }
func (t *exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) TempDir() string {
	dir, err := os.MkdirTemp("", "possimtest-example-")
	if err != nil {
		panic(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// A terminal makes a sale against the mock acquirer; the host shows what
// it received and answered, each code explained.
func ExampleNewHost() {
	t := &exampleT{} // in a test: the test's t
	defer t.done()
	ctx := context.Background()

	host := possimtest.NewHost(t)
	term := possimtest.NewTerminal(t, host.Addr())
	sale, err := term.Sale(ctx, possimtest.Sale{Amount: 1234, Card: "visa-credit", PIN: "1234"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sale:", sale.Status, sale.ResponseCode, sale.MaskedPAN)
	for _, x := range host.Requests() {
		what, _ := x.Request.Field(70)
		if x.Request.MTI == "0200" {
			what, _ = x.Request.Field(3)
		}
		fmt.Printf("%s %s -> %s %s\n", x.Request.MTI, what.Meaning, x.Response.MTI, x.Response.Code)
	}
	// Output:
	// sale: approved 00 476173******0010
	// 0800 echo test -> 0810 00
	// 0800 sign-on -> 0810 00
	// 0200 purchase -> 0210 00
}

// A fault makes the host decline the next sale, as an issuer would.
func ExampleHost_SetFault() {
	t := &exampleT{}
	defer t.done()
	ctx := context.Background()

	host := possimtest.NewHost(t)
	term := possimtest.NewTerminal(t, host.Addr())
	if _, err := host.SetFault(possimtest.Fault{Action: possimtest.FaultRespond, Code: "51",
		Match: possimtest.FaultMatch{MTI: "0200"}}); err != nil {
		fmt.Println(err)
		return
	}
	sale, _ := term.Sale(ctx, possimtest.Sale{Amount: 50000, Card: "mc-debit", PIN: "1234"})
	fmt.Println(sale.Status, sale.ResponseCode, sale.ResponseText)
	// Output: declined 51 INSUFFICIENT FUNDS
}

// POS software opens the devices' ptys; the test acts as the customer.
func ExampleNewDevices() {
	t := &exampleT{}
	defer t.done()

	devices := possimtest.NewDevices(t)
	for _, name := range possimtest.DeviceNames() {
		fmt.Println(name, "at", filepath.Base(devices.Path(name)))
	}
	// Your POS software opens devices.Path("cardreader") here and asks for
	// a card; the customer inserts one:
	if err := devices.Insert("visa-credit"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// cardreader at cardreader
	// pinpad at pinpad
	// printer at printer
	// scanner at scanner
}

// The whole lab: a sale settles D0 on the merchant's account, less the
// 0.60% card fee, and the ledger's invariants hold.
func ExampleNewLab() {
	t := &exampleT{}
	defer t.done()
	ctx := context.Background()

	lab := possimtest.NewLab(t)
	sale, err := lab.Terminal().Sale(ctx, possimtest.Sale{Amount: 10000, Card: "visa-credit", PIN: "1234"})
	if err != nil {
		fmt.Println(err)
		return
	}
	balance, _ := lab.Host().Ledger().Balance(ctx, lab.Terminal().MerchantID())
	fmt.Println(sale.Status, sale.Settlement, balance)
	fmt.Println("receipts:", len(lab.Devices().Printed()))
	fmt.Println("ledger consistent:", lab.Host().Ledger().Verify(ctx) == nil)
	// Output:
	// approved D0 9940
	// receipts: 2
	// ledger consistent: true
}

// A terminal faces a host under test (here possim's own): it sells,
// voids, and closes its batch, balanced with the host.
func ExampleNewTerminal() {
	t := &exampleT{}
	defer t.done()
	ctx := context.Background()

	host := possimtest.NewHost(t) // in your test: the address of your host
	term := possimtest.NewTerminal(t, host.Addr())
	first, _ := term.Sale(ctx, possimtest.Sale{Amount: 2000, Card: "visa-credit", PIN: "1234"})
	second, err := term.Sale(ctx, possimtest.Sale{Amount: 500, Card: "visa-credit", Entry: "tap"})
	if err != nil {
		fmt.Println(err)
		return
	}
	void, err := term.Void(ctx, second.STAN)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(first.Status, second.Status, void.Kind, void.Status)
	batch, err := term.Settle(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("settled:", batch.SalesCount, batch.SalesAmount, "balanced:", batch.Balanced, batch.ResponseCode)
	// Output:
	// approved approved void approved
	// settled: 1 2000 balanced: true 00
}

// A card reported lost at the issuer is declined 41 from its next sale
// on, and the ledger credits only what was approved.
func ExampleHost_SetCardStatus() {
	t := &exampleT{}
	defer t.done()
	ctx := context.Background()

	host := possimtest.NewHost(t)
	term := possimtest.NewTerminal(t, host.Addr())
	before, _ := term.Sale(ctx, possimtest.Sale{Amount: 10000, Card: "visa-credit", PIN: "1234"})
	if err := host.SetCardStatus("visa-credit", "lost"); err != nil {
		fmt.Println(err)
		return
	}
	after, _ := term.Sale(ctx, possimtest.Sale{Amount: 10000, Card: "visa-credit", PIN: "1234"})
	fmt.Println(before.Status, before.ResponseCode)
	fmt.Println(after.Status, after.ResponseCode, after.ResponseText)
	balance, _ := host.Ledger().Balance(ctx, term.MerchantID())
	fmt.Println("balance:", balance)
	fmt.Println(host.SetCardStatus("visa-credit", "misplaced"))
	// Output:
	// approved 00
	// declined 41 LOST CARD - PICK UP
	// balance: 9940
	// card visa-credit: unknown status "misplaced"; valid: active, lost, stolen, expired, restricted, blocked, pin_blocked
}
