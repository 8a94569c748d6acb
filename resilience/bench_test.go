package resilience

import (
	"context"
	"testing"

	"github.com/possim/possim/harness"
)

// BenchmarkLabStartClose is the cost of one virtual lab, as every scenario
// of the Gherkin suite pays it: ledger file, host, link, the four devices
// and the terminal, started and closed again, with the ledger durable
// (FULL) and, in the NORMAL sub-benchmark, as the suite runs it.
func BenchmarkLabStartClose(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run(sync, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				lab, err := harness.New(ctx, harness.Config{Dir: b.TempDir(), Seed: 1, Synchronous: sync})
				if err != nil {
					b.Fatal(err)
				}
				if err := lab.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWiredLabStartClose is the same with loopback TCP and real ptys.
func BenchmarkWiredLabStartClose(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		lab, err := harness.New(ctx, harness.Config{Dir: b.TempDir(), Seed: 1, Mode: harness.Wired, Synchronous: "NORMAL"})
		if err != nil {
			b.Fatal(err)
		}
		if err := lab.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
