package ledger

import (
	"context"
	"testing"
	"time"
)

func TestAcceptATCSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	l, _ := openLedger(t, Options{})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		atc      uint16
		accepted bool
		last     uint16
	}{
		{3, true, 0},
		{3, false, 3}, // the same cryptogram again
		{2, false, 3}, // an older one
		{5, true, 3},  // counters may skip (offline or declined uses)
	}
	for _, s := range steps {
		ok, last, err := l.AcceptATC(ctx, "card-a", s.atc, now)
		if err != nil {
			t.Fatal(err)
		}
		if ok != s.accepted || last != s.last {
			t.Errorf("AcceptATC(%d) = %v, last %d; want %v, last %d", s.atc, ok, last, s.accepted, s.last)
		}
	}
	if ok, _, err := l.AcceptATC(ctx, "card-b", 1, now); err != nil || !ok {
		t.Errorf("another card's first ATC: %v %v", ok, err)
	}
	l = reopen(t, l)
	if atc, ok, err := l.LastATC(ctx, "card-a"); err != nil || !ok || atc != 5 {
		t.Fatalf("after reopening: LastATC = %d %v %v; want 5", atc, ok, err)
	}
	if ok, last, err := l.AcceptATC(ctx, "card-a", 5, now); err != nil || ok || last != 5 {
		t.Errorf("replay after reopening accepted: %v, last %d, %v", ok, last, err)
	}
	if _, _, err := l.AcceptATC(ctx, "", 1, now); err == nil {
		t.Error("an ATC without a card reference was accepted")
	}
}
