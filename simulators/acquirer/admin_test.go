package acquirer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCardStatusNextSale: a status set on a running host declines the very
// next sale with the status's code; back to active, the card sells again.
func TestCardStatusNextSale(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	tm.signOn()
	for _, tc := range []struct {
		status, want string
		pin          bool
	}{
		{"lost", "41", false},
		{"stolen", "43", false},
		{"expired", "54", false},
		{"restricted", "57", false},
		{"pin_blocked", "75", true},
		{"active", "00", true},
	} {
		t.Run(tc.status, func(t *testing.T) {
			if err := h.SetCardStatus("visa-credit", "active"); err != nil {
				t.Fatal(err)
			}
			if err := h.ResetPINTries("visa-credit"); err != nil {
				t.Fatal(err)
			}
			if err := h.SetCardStatus("visa-credit", tc.status); err != nil {
				t.Fatal(err)
			}
			f := tm.sale(visa, 100)
			if tc.pin {
				tm.withPIN(f, "1234")
			}
			if got := rc(tm.mustSend(f)); got != tc.want {
				t.Fatalf("sale after status %s answered %s, want %s", tc.status, got, tc.want)
			}
		})
	}
	// ResetPINTries unblocks a PIN-blocked card.
	h.SetCardStatus("visa-credit", "pin_blocked")
	if c, _ := h.Card("visa-credit"); !c.PINBlocked {
		t.Fatalf("card state %+v: want pin_blocked", c)
	}
	h.ResetPINTries("visa-credit")
	if got := rc(tm.mustSend(tm.withPIN(tm.sale(visa, 100), "1234"))); got != "00" {
		t.Fatalf("sale after reset_pin answered %s, want 00", got)
	}
}

func TestCardStatusErrorsListValid(t *testing.T) {
	h := startHost(t, nil)
	err := h.SetCardStatus("visa-credit", "misplaced")
	if err == nil || !strings.Contains(err.Error(), "lost, stolen, expired") || !strings.Contains(err.Error(), "pin_blocked") {
		t.Fatalf("unknown status: %v; want the valid ones listed", err)
	}
	if _, err := h.Card("no-such-card"); err == nil || !strings.Contains(err.Error(), "visa-credit") {
		t.Fatalf("unknown card: %v; want the valid ones listed", err)
	}
	_, err = h.AddFault(Fault{Action: "explode"})
	if err == nil || !strings.Contains(err.Error(), "respond") || !strings.Contains(err.Error(), "garble") {
		t.Fatalf("unknown action: %v; want the valid ones listed", err)
	}
	_, err = h.AddFault(Fault{Action: ActDrop, Match: Match{Alias: "no-such-card"}})
	if err == nil || !strings.Contains(err.Error(), "visa-credit") {
		t.Fatalf("unknown alias in a fault: %v; want the valid cards listed", err)
	}
}

// TestSetFaultsAllOrNothing: one bad fault leaves the table as it was.
func TestSetFaultsAllOrNothing(t *testing.T) {
	h := startHost(t, nil)
	if _, err := h.AddFault(Fault{Name: "keep", Action: ActDrop}); err != nil {
		t.Fatal(err)
	}
	_, err := h.SetFaults([]Fault{{Name: "ok", Action: ActDrop}, {Name: "bad", Action: "nope"}})
	if err == nil {
		t.Fatal("SetFaults with a bad fault: no error")
	}
	if l := h.FaultList(); len(l) != 1 || l[0].Name != "keep" {
		t.Fatalf("after a refused SetFaults: %+v, want the old table", l)
	}
	set, err := h.SetFaults([]Fault{{Name: "a", Action: ActRespond, Code: "05", Sticky: true}})
	if err != nil || len(set) != 1 || set[0].ID == 0 {
		t.Fatalf("SetFaults: %+v, %v", set, err)
	}
	tm := dial(t, h.Addr())
	if got := rc(tm.mustSend(tm.sale(visa, 100))); got != "05" {
		t.Fatalf("sale under the replaced table answered %s, want 05", got)
	}
}

// TestReloadProfile: a card added to the file is known to the next
// request; a file that no longer loads, or no file, is refused and the
// host keeps its profile.
func TestReloadProfile(t *testing.T) {
	h := startHost(t, nil)
	if err := h.ReloadProfile(context.Background(), ""); !errors.Is(err, ErrEmbeddedProfile) {
		t.Fatalf("reload without a file: %v, want ErrEmbeddedProfile", err)
	}
	path := filepath.Join(t.TempDir(), "lab.yaml")
	def, err := os.ReadFile(filepath.Join("..", "..", "profile", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The file lowers visa-credit's per-transaction limit to 1.00.
	changed := strings.Replace(string(def), `per_txn_limit: "20,000.00"`, `per_txn_limit: "1.00"`, 1)
	if changed == string(def) {
		t.Fatal("test profile edit did not apply")
	}
	os.WriteFile(path, []byte(changed), 0o600)
	tm := dial(t, h.Addr())
	if got := rc(tm.mustSend(tm.sale(visa, 500))); got != "00" {
		t.Fatalf("before reload: %s, want 00", got)
	}
	if err := h.ReloadProfile(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	if got := rc(tm.mustSend(tm.sale(visa, 500))); got != "61" {
		t.Fatalf("after reload (limit 1.00): %s, want 61", got)
	}
	os.WriteFile(path, []byte("cards: [oops"), 0o600)
	err = h.ReloadProfile(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "old profile kept") || !strings.Contains(err.Error(), "lab.yaml") {
		t.Fatalf("reload of a broken file: %v; want refused, naming the file", err)
	}
	if got := rc(tm.mustSend(tm.sale(visa, 500))); got != "61" {
		t.Fatalf("after a refused reload: %s, want 61 (the reloaded profile kept)", got)
	}
}

// TestReloadUnderLoad runs reloads, status changes and fault edits while
// sales flow: the race detector checks the swaps.
func TestReloadUnderLoad(t *testing.T) {
	h := startHost(t, nil)
	path := filepath.Join(t.TempDir(), "lab.yaml")
	def, _ := os.ReadFile(filepath.Join("..", "..", "profile", "default.yaml"))
	os.WriteFile(path, def, 0o600)
	tm := dial(t, h.Addr())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := h.ReloadProfile(context.Background(), path); err != nil {
				t.Error(err)
				return
			}
			h.SetCardStatus("mc-debit", "lost")
			h.AddFault(Fault{Action: ActDelay, Delay: time.Millisecond, Match: Match{Alias: "visa-credit"}})
			h.Cards()
		}
	}()
	for range 30 {
		if got := rc(tm.mustSend(tm.sale(visa, 100))); got != "00" {
			t.Errorf("sale during reloads answered %s, want 00", got)
		}
	}
	close(stop)
	wg.Wait()
}

// TestRequestLogBounded: the ring keeps the newest events only, and the
// filter selects a request with its answer.
func TestRequestLogBounded(t *testing.T) {
	l := NewRequestLog(4)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i := range 10 {
		mti, dir := "0200", "in"
		if i%2 == 1 {
			mti, dir = "0210", "out"
		}
		l.Record(Event{Time: t0.Add(time.Duration(i) * time.Second), Dir: dir, MTI: mti,
			Fields: map[string]string{"11": "00000" + string(rune('0'+i/2)), "41": "TERM0001"}})
	}
	if l.Len() != 4 {
		t.Fatalf("Len %d, want 4", l.Len())
	}
	all := l.Query(RequestFilter{})
	if len(all) != 4 || !all[0].Time.Equal(t0.Add(6*time.Second)) || !all[3].Time.Equal(t0.Add(9*time.Second)) {
		t.Fatalf("kept %+v, want the last 4 oldest first", all)
	}
	if got := l.Query(RequestFilter{MTI: "0200", STAN: "000004"}); len(got) != 2 || got[1].MTI != "0210" {
		t.Fatalf("mti 0200 stan 000004: %+v, want the request and its answer", got)
	}
	if got := l.Query(RequestFilter{Since: t0.Add(9 * time.Second)}); len(got) != 1 {
		t.Fatalf("since: %d events, want 1", len(got))
	}
	if got := l.Query(RequestFilter{TID: "TERM0002"}); len(got) != 0 {
		t.Fatalf("other tid: %d events, want 0", len(got))
	}
}
