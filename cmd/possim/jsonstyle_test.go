package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/resilience"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

var (
	snakeKey   = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	decimalStr = regexp.MustCompile(`^-?[0-9]+\.[0-9]{2}$`)
	// keys that hold money in possim's JSON outputs
	amountKeys = map[string]bool{"amount": true, "gross": true, "fee": true, "fees": true, "net": true, "refunds": true,
		"reversals": true, "settled_d0": true, "settled_t1": true, "pending_t1": true, "balance": true, "expected": true,
		"requested": true, "price": true, "refunded": true} // and every key ending in "amount"
	timeKeys = map[string]bool{"time": true, "from": true, "to": true, "created": true}
)

// checkJSONStyle walks a --json output: snake_case keys, amounts as
// decimal strings in an object with a currency, times in RFC 3339.
func checkJSONStyle(t *testing.T, what string, data []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, data)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		case map[string]any:
			for k, e := range x {
				if !snakeKey.MatchString(k) {
					t.Errorf("%s: key %s.%s is not snake_case", what, path, k)
				}
				if amountKeys[k] || strings.HasSuffix(k, "amount") {
					s, ok := e.(string)
					if !ok || !decimalStr.MatchString(s) {
						t.Errorf("%s: %s.%s = %v; want a decimal string like \"12.34\"", what, path, k, e)
					}
					if x["currency"] != "CNY" {
						t.Errorf("%s: %s has %s but no currency", what, path, k)
					}
				}
				if timeKeys[k] {
					s, _ := e.(string)
					if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
						t.Errorf("%s: %s.%s = %v; want RFC 3339", what, path, k, e)
					}
				}
				walk(path+"."+k, e)
			}
		}
	}
	walk("", v)
}

func TestLedgerStatementJSONStyle(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "host.db")
	led, err := ledger.Open(ctx, db, ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := acquirer.New(ctx, acquirer.Config{Profile: profile.Default(), Ledger: led})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "term.json")
	for _, args := range [][]string{{"signon"}, {"sale", "--amount", "12.34", "--card", "visa-credit", "--pin", "1234"}} {
		if code, out := termCLI(t, h.Addr(), state, args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s", args[0], code, out)
		}
	}
	h.Close()
	led.Close()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"ledger", "--db", db, "statement", "--merchant", "123456789012345", "--json"},
		&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Fatalf("statement: exit %d\n%s", code, errb.String())
	}
	checkJSONStyle(t, "ledger statement --json", out.Bytes())
	for _, want := range []string{`"gross": "12.34"`, `"amount": "12.34"`, `"currency": "CNY"`, `"sales_count": 1`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ledger statement --json lacks %s:\n%s", want, out.String())
		}
	}
}

func TestCrashloopJSONStyle(t *testing.T) {
	b, err := json.Marshal(newCrashJSON(resilience.CrashReport{Seed: 7, Kills: 2, Sales: 10, Balance: 123456, Expected: 123456, Elapsed: 1500 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	checkJSONStyle(t, "crashloop --json", b)
	if !strings.Contains(string(b), `"balance":"1234.56"`) || !strings.Contains(string(b), `"elapsed_seconds":1.5`) {
		t.Errorf("crashloop --json = %s", b)
	}
}

func TestStepsJSONStyle(t *testing.T) {
	code, stdout, _ := runMain("steps", "--json")
	if code != 0 {
		t.Fatalf("steps --json: exit %d", code)
	}
	checkJSONStyle(t, "steps --json", []byte(stdout))
}

// TestTerminalJSONStyle: possim terminal --json against a real host on
// loopback writes amounts as decimal strings beside a currency (it used to
// print the terminal's fen integers: "amount": 1234), times in RFC 3339,
// in every part of its output: a basket sale, the log after a partial
// refund, a pending reversal and a settlement.
func TestTerminalJSONStyle(t *testing.T) {
	host := termHost(t)
	state := filepath.Join(t.TempDir(), "term.json")
	run := func(want int, args ...string) map[string]any {
		t.Helper()
		code, out := termCLI(t, host, state, append([]string{"--json"}, args...)...)
		if code != want {
			t.Fatalf("terminal %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		checkJSONStyle(t, "terminal --json "+args[0], []byte(out))
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch p := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[p]
			case int:
				a, _ := v.([]any)
				if p >= len(a) {
					return nil
				}
				v = a[p]
			}
		}
		return v
	}
	expect := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}

	// 2 × green tea 3.50 + bread 8.00 = 15.00
	sale := run(0, "sale", "--items", "6901234567892x2,6901234567908", "--card", "visa-credit", "--pin", "1234")
	expect("txn.amount", get(sale, "txn", "amount"), "15.00")
	expect("txn.requested", get(sale, "txn", "requested"), "15.00")
	expect("txn.currency", get(sale, "txn", "currency"), "CNY")
	expect("txn.items[0].price", get(sale, "txn", "items", 0, "price"), "3.50")
	expect("txn.items[0].currency", get(sale, "txn", "items", 0, "currency"), "CNY")
	if _, ok := get(sale, "txn", "time").(string); !ok {
		t.Errorf("txn.time missing: %v", get(sale, "txn"))
	}
	stan, _ := get(sale, "txn", "stan").(string)

	run(0, "refund", "--stan", stan, "--amount", "5.00")
	lg := run(0, "log", "--stan", stan)
	expect("log[0].refunded", get(lg, "log", 0, "refunded"), "5.00")

	// A host that takes the sale and never answers: the terminal keeps a
	// reversal it could not deliver.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	code, out := termCLI(t, silent.Addr().String(), state, "--json", "--timeout", "500ms", "sale", "--amount", "12.34", "--card", "visa-credit", "--pin", "1234")
	if code != 1 {
		t.Fatalf("sale to a silent host: exit %d, want 1\n%s", code, out)
	}
	checkJSONStyle(t, "terminal --json sale to a silent host", []byte(out))
	var lost map[string]any
	if err := json.Unmarshal([]byte(out), &lost); err != nil {
		t.Fatal(err)
	}
	expect("pending_reversals[0].amount", get(lost, "pending_reversals", 0, "amount"), "12.34")
	expect("pending_reversals[0].currency", get(lost, "pending_reversals", 0, "currency"), "CNY")
	if _, ok := get(lost, "pending_reversals", 0, "created").(string); !ok {
		t.Errorf("pending_reversals[0].created missing:\n%s", out)
	}

	// Back on the real host the reversal goes out before the settlement.
	st := run(0, "settle")
	expect("settle.totals.sales_amount", get(st, "settle", "totals", "sales_amount"), "15.00")
	expect("settle.totals.refunds_amount", get(st, "settle", "totals", "refunds_amount"), "5.00")
	expect("settle.totals.currency", get(st, "settle", "totals", "currency"), "CNY")
}
