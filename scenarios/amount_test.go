package scenarios

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
)

// TestStepAmountsAreNeverMisread runs steps with amounts a cashier might
// mistype: each must fail naming the amount and how to write it, never
// charge something else (12,34 used to become 1,234.00).
func TestStepAmountsAreNeverMisread(t *testing.T) {
	for _, c := range []struct{ step, want string }{
		{`When the customer pays 12,34 by credit card "visa-credit" by chip with PIN "1234"`,
			`amount "12,34": a comma may only separate thousands (1,234.50); write 12.34 for 12 yuan 34 fen`},
		{`When the customer pays 1,2345 with QR payment code "281234567890123456"`,
			`amount "1,2345": a comma may only separate thousands, in groups of three digits`},
		{`When the customer pays 0.00 by credit card "visa-credit" by chip with PIN "1234"`, `amount must be positive`},
		{`When the cashier keys in an amount of -5.00`, `amount must be positive`},
		{`When the cashier refunds 0 of the last sale`, `amount must be positive`},
	} {
		t.Run(c.step, func(t *testing.T) {
			dir := t.TempDir()
			feature := "Feature: amounts\n\n  Scenario: a mistyped amount\n" +
				"    Given a lab with the default profile\n" +
				"    And the terminal is powered on and signed on\n" +
				"    " + c.step + "\n" +
				"    Then the transaction is approved\n"
			path := filepath.Join(dir, "amount.feature")
			if err := os.WriteFile(path, []byte(feature), 0o644); err != nil {
				t.Fatal(err)
			}
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				res, err := Run(context.Background(), Options{Paths: []string{path}, Output: &out, Format: "progress",
					Seed: 1, TempDir: t.TempDir(), Synchronous: "NORMAL", Settle: synctest.Wait})
				if err != nil {
					t.Fatalf("run: %v\n%s", err, out.String())
				}
				if len(res.Scenarios) != 1 || res.Scenarios[0].Status != "failed" {
					t.Fatalf("the scenario did not fail: %+v\n%s", res.Scenarios, out.String())
				}
				if got := res.Scenarios[0].Error; !strings.Contains(got, c.want) {
					t.Errorf("the step failed with %q; want %q", got, c.want)
				}
				for _, s := range res.Scenarios[0].Steps {
					if strings.HasPrefix(s.Text, "the transaction") && s.Status != "skipped" {
						t.Errorf("step %q ran (%s) after the bad amount", s.Text, s.Status)
					}
				}
			})
		})
	}
}
