package resilience

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestCrashLoop kills a host process three times under load and checks the
// ledger after each kill: the short form of scripts/crashloop.sh.
func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts host processes")
	}
	db := filepath.Join(t.TempDir(), "crash.db")
	if d := os.Getenv("POSSIM_CRASH_DB"); d != "" {
		db = d // keep the ledger for a look after a failure
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := CrashLoop(ctx, CrashConfig{
		DB:    db,
		Kills: 3,
		Conns: 6,
		Host: func(db string) *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), hostEnv+"="+db)
			cmd.Stderr = os.Stderr
			return cmd
		},
		MinRun: 300 * time.Millisecond,
		MaxRun: 900 * time.Millisecond,
		Logf:   t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %d kills, %d sales approved, %d reversals (%d repeated), %d in doubt and resolved, %d entries, balance %d",
		rep.Seed, rep.Kills, rep.Sales, rep.Reversals, rep.Repeats, rep.InDoubt, rep.Entries, rep.Balance)
	if rep.Kills != 3 || rep.Sales == 0 || rep.Reversals == 0 {
		t.Errorf("the loop did too little to prove anything: %+v", rep)
	}
}
