package possimtest_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/cucumber/godog"
	"github.com/possim/possim/possimtest"
	"github.com/possim/possim/scenarios"
	"github.com/possim/possim/simulators/terminal"
)

// A QA team's own feature: possim's steps (the lab, the terminal, the
// payment) next to the team's own step about its loyalty scheme.
const loyaltyFeature = `Feature: loyalty points
  Scenario: a card sale earns a point per yuan
    Given a lab with the default profile
    And the terminal is powered on and signed on
    When the customer pays 100.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the customer earns 100 loyalty points
`

// customerEarns is the team's own step: it reads the sale from possim's
// lab through scenarios.FromContext.
func customerEarns(ctx context.Context, want int) error {
	w, ok := scenarios.FromContext(ctx)
	if !ok {
		return fmt.Errorf("no possim lab in this scenario")
	}
	points := 0
	for _, x := range w.Lab.Terminal.Log() {
		if x.Kind == terminal.KindSale && x.Approved() {
			points += int(x.Amount / 100)
		}
	}
	if points != want {
		return fmt.Errorf("the customer earns %d points; want %d", points, want)
	}
	return nil
}

func runLoyalty(t *testing.T, opts ...scenarios.RegisterOption) (int, string) {
	var out bytes.Buffer
	suite := godog.TestSuite{
		Name: "loyalty",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			scenarios.Register(sc, opts...)
			sc.Step(`^the customer earns (\d+) loyalty points$`, func(ctx context.Context, n string) error {
				want, err := strconv.Atoi(n)
				if err != nil {
					return err
				}
				return customerEarns(ctx, want)
			})
		},
		Options: &godog.Options{
			Format: "pretty", Output: &out, NoColors: true, Strict: true,
			FeatureContents: []godog.Feature{{Name: "loyalty.feature", Contents: []byte(loyaltyFeature)}},
			TestingT:        t,
		},
	}
	return suite.Run(), out.String()
}

// TestGodogSuiteWithPossimSteps runs a team's suite with possim's steps
// registered next to its own; each scenario gets a fresh lab.
func TestGodogSuiteWithPossimSteps(t *testing.T) {
	if status, out := runLoyalty(t, scenarios.WithSeed(7)); status != 0 {
		t.Fatalf("suite status %d:\n%s", status, out)
	}
}

// TestGodogSuiteOnGivenLab runs the same suite against a lab the test
// built itself, and checks the sale reached that lab's host.
func TestGodogSuiteOnGivenLab(t *testing.T) {
	lab := possimtest.NewLab(t)
	if status, out := runLoyalty(t, scenarios.UseLab(lab.Harness())); status != 0 {
		t.Fatalf("suite status %d:\n%s", status, out)
	}
	bal, err := lab.Host().Ledger().Balance(t.Context(), lab.Terminal().MerchantID())
	if err != nil || bal == 0 {
		t.Errorf("balance after the suite's sale = %d, %v; want the sale credited", bal, err)
	}
}
