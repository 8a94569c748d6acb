package ledger

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchLedger opens a ledger with synchronous=FULL, as the host runs it, and
// a merchant without real-time limits so every sale takes the D0 path.
func benchLedger(b *testing.B) *Ledger {
	b.Helper()
	l, _ := openLedger(b, Options{})
	m := demoMerchant()
	m.RealtimePerTxn, m.RealtimeDaily = 0, 0
	if err := l.PutMerchant(context.Background(), m); err != nil {
		b.Fatal(err)
	}
	return l
}

// cpuTime is the process's user and system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportSales(b *testing.B, l *Ledger, cpu0 time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/sale")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sales/s")
	commits, records := l.Commits()
	if commits > 0 {
		b.ReportMetric(float64(records)/float64(commits), "sales/commit")
	}
	if n, size, err := l.Stats(context.Background()); err == nil && n > 0 {
		b.ReportMetric(float64(size)/float64(n), "disk-B/sale")
	}
}

// BenchmarkRecordSale is one caller at a time: every sale pays a whole fsync.
func BenchmarkRecordSale(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	e := sale(0, 10000, t0)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Key.STAN = strconv.Itoa(i)
		e.Time = t0.Add(time.Duration(i) * time.Millisecond)
		if _, err := l.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportSales(b, l, cpu0)
}

// BenchmarkRecordSaleParallel is many terminals at once (32 goroutines per
// CPU), the host's real load: group commit shares each fsync.
func BenchmarkRecordSaleParallel(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		e := sale(0, 10000, t0)
		for pb.Next() {
			i := n.Add(1)
			e.Key.STAN = strconv.FormatInt(i, 10)
			e.Time = t0.Add(time.Duration(i) * time.Millisecond)
			if _, err := l.Record(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportSales(b, l, cpu0)
}

// BenchmarkIssuerReads is what the host reads per sale before deciding:
// the card's usage and, for a void, the original.
func BenchmarkIssuerReads(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	for i := range 1000 {
		record(b, l, sale(i+1, 10000, t0))
	}
	key := sale(500, 0, t0).Key
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.CardUsage(ctx, "card-visa", t0); err != nil {
				b.Error(err)
				return
			}
			if _, ok, err := l.Lookup(ctx, key); err != nil || !ok {
				b.Error("lookup", err)
				return
			}
		}
	})
}

// BenchmarkRecordSale32Terminals is the host's load shape: 32 callers, each
// a terminal of its own with its own card, so the key and card indexes are
// written in 32 places at once, as with 32 connections.
func BenchmarkRecordSale32Terminals(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	var n, term atomic.Int64
	b.SetParallelism(16) // 32 goroutines on 2 CPUs
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := term.Add(1)
		e := sale(0, 10000, t0)
		e.Key.TID = "LOAD" + strconv.FormatInt(1000+id, 10)[1:]
		e.CardRef = "card-" + strconv.FormatInt(id, 10)
		stan := 0
		for pb.Next() {
			stan++
			i := n.Add(1)
			e.Key.STAN = strconv.Itoa(1000000 + stan)[1:]
			e.Time = t0.Add(time.Duration(i) * time.Millisecond)
			if _, err := l.Record(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportSales(b, l, cpu0)
}

// BenchmarkSyncFloor is what the disk alone asks of a commit: one 4 KiB
// page written into a file (the WAL's frames go to the same few hundred
// pages until a checkpoint restarts it) and one fdatasync, which a commit
// of one sale does at the least. Its CPU per operation, the kernel's
// mostly, is the floor under BenchmarkRecordSale and under the host's CPU
// per sale at one connection (docs/BENCHMARKS.md).
func BenchmarkSyncFloor(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(page, int64(i%256)*4096); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
