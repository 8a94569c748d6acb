package resilience

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

// hostEnv names the ledger a re-executed test binary serves as a host.
const hostEnv = "POSSIM_RESILIENCE_HOST_DB"

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
	h, err := acquirer.New(ctx, acquirer.Config{Profile: profile.Default(), Ledger: led, Logger: log,
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
