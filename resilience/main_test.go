package resilience

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

// hostEnv names the ledger a re-executed test binary serves as a host.
const hostEnv = "POSSIM_RESILIENCE_HOST_DB"

// d0DailyEnv, for such a host, sets every merchant's daily real-time
// (D0) limit, in fen.
const d0DailyEnv = "POSSIM_RESILIENCE_D0_DAILY"

// TestMain lets the test binary play the host process the crash loop
// kills: run with hostEnv set, it serves a host on loopback instead of
// running tests, so no separate build is needed.
func TestMain(m *testing.M) {
	if db := os.Getenv(hostEnv); db != "" {
		if err := serveHost(db); err != nil {
			fmt.Fprintln(os.Stderr, "host:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func serveHost(db string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	led, err := ledger.Open(ctx, db, ledger.Options{Logger: log})
	if err != nil {
		return err
	}
	defer led.Close()
	seed := rand.Uint64()
	prof := profile.Default()
	if v := os.Getenv(d0DailyEnv); v != "" { // a limit the load reaches
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", d0DailyEnv, v, err)
		}
		for i := range prof.Merchants {
			prof.Merchants[i].RealtimeDaily = profile.Amount(n)
		}
	}
	h, err := acquirer.New(ctx, acquirer.Config{Profile: prof, Ledger: led, Logger: log,
		Rand: rand.New(rand.NewPCG(seed, seed))})
	if err != nil {
		return err
	}
	if err := h.Start("127.0.0.1:0"); err != nil {
		return err
	}
	fmt.Printf("test host listening on %s\n", h.Addr())
	<-ctx.Done()
	h.Close()
	return led.Close()
}
