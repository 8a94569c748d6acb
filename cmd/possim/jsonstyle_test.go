package main

import (
	"bytes"
	"context"
	"encoding/json"
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
		"reversals": true, "settled_d0": true, "settled_t1": true, "pending_t1": true, "balance": true, "expected": true}
	timeKeys = map[string]bool{"time": true, "from": true, "to": true}
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
				if amountKeys[k] {
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
