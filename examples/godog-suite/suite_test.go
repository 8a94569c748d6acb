package pos_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cucumber/godog"
	"github.com/possim/possim/scenarios"

	pos "example.com/godog-suite"
)

// TestFeatures runs features/*.feature: possim's steps (the lab, the
// terminal, the payment, the ledger) next to the team's own step about
// its POS app. Each scenario gets a fresh lab.
func TestFeatures(t *testing.T) {
	suite := godog.TestSuite{
		Name: "checkout",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			scenarios.Register(sc, scenarios.WithSeed(7))
			sc.Step(`^the POS app shows "([^"]*)"$`, posAppShows)
		},
		Options: &godog.Options{Format: "pretty", Paths: []string{"features"}, Strict: true, NoColors: true, TestingT: t},
	}
	if suite.Run() != 0 {
		t.Fatal("the features failed")
	}
}

// posAppShows is the team's own step: it hands the terminal's last
// transaction to the app, as the app's terminal integration would, and
// compares what the app's screen shows.
func posAppShows(ctx context.Context, want string) error {
	w, ok := scenarios.FromContext(ctx)
	if !ok {
		return errors.New("no possim lab in this scenario: is scenarios.Register called?")
	}
	log := w.Lab.Terminal.Log()
	if len(log) == 0 {
		return errors.New("the terminal has made no transaction yet")
	}
	last := log[len(log)-1]
	var app pos.App
	app.Paid(pos.Payment{Approved: last.Approved(), ResponseCode: last.ResponseCode, ResponseText: last.ResponseText})
	if got := app.Screen(); got != want {
		return fmt.Errorf("the POS app shows %q; want %q", got, want)
	}
	return nil
}
