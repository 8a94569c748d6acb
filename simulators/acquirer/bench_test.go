package acquirer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// benchProfile lifts the card limits so a long run is all approvals.
func benchProfile() *profile.Profile {
	p := profile.Default()
	for i := range p.Cards {
		if p.Cards[i].Alias == "visa-credit" {
			p.Cards[i].Limit, p.Cards[i].DailyCount, p.Cards[i].PerTxnLimit = 1<<50, 0, 0
		}
	}
	return p
}

func benchSale(stan int) *iso.Financial {
	return &iso.Financial{MTI: iso.MTIFinancialRequest, PAN: visa, ProcessingCode: iso.ProcPurchase,
		Amount: "000000000100", TransmissionDT: fmt.Sprintf("%02d25103000", 1+stan/1000000%12), STAN: fmt.Sprintf("%06d", stan%1000000),
		LocalTime: "103000", LocalDate: "1125", Expiry: "3012", EntryMode: "051", ConditionCode: "00",
		TerminalID: testTID, MerchantID: testMID, Currency: "156", Reserved60: "0000012.1.0"}
}

// BenchmarkAuthorise is the host's work for one sale without the network:
// unpack, rules, journal (synchronous=NORMAL, group commit across 32
// goroutines, as with 32 connections), response, pack. cpu-µs/op is the
// process CPU per sale, ledger included.
func BenchmarkAuthorise(b *testing.B) {
	ctx := context.Background()
	l, err := ledger.Open(ctx, filepath.Join(b.TempDir(), "b.db"), ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	h, err := New(ctx, Config{Profile: benchProfile(), Ledger: l})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	raws := make([][]byte, b.N)
	for i := range raws {
		m, _ := iso.NewMessage(benchSale(i))
		raws[i], _ = m.Pack()
	}
	var next, declined atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16) // 32 goroutines on 2 CPUs
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			m, err := h.reader.unpack(raws[i])
			if err != nil {
				b.Error(err)
				return
			}
			r := h.parse(m, iso.MTIFinancialRequest)
			resp := h.dispatch(r, nil)
			if _, err := resp.Pack(); err != nil {
				b.Error(err)
				return
			}
			if rc(resp) != "00" {
				declined.Add(1)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	if n := declined.Load(); n > 0 {
		b.Errorf("%d sales declined", n)
	}
}

// BenchmarkLoopback32 runs 32 terminal connections against the host over
// loopback TCP with the durable ledger (synchronous=FULL). It reports sales/s
// and the CPU of the whole process (host, ledger and the 32 clients) per sale.
// With POSSIM_BENCH_ADDR set it drives that host instead, and
// POSSIM_BENCH_PID, if set, names the host process whose CPU is reported
// alone.
func BenchmarkLoopback32(b *testing.B) { loopback(b, 32, 1) }

// BenchmarkLoopbackPipelined is 4 connections with 8 requests in flight on
// each, as a terminal concentrator sends: answers the group commit releases
// together share a write.
func BenchmarkLoopbackPipelined(b *testing.B) { loopback(b, 4, 8) }

func loopback(b *testing.B, conns, perConn int) {
	ctx := context.Background()
	addr := os.Getenv("POSSIM_BENCH_ADDR")
	var led *ledger.Ledger
	if addr == "" {
		l, err := ledger.Open(ctx, filepath.Join(b.TempDir(), "b.db"), ledger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		led = l
		h, err := New(ctx, Config{Profile: benchProfile(), Ledger: l})
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		if err := h.Start("127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
		addr = h.Addr()
	}
	cs := make([]*connection.Connection, conns)
	for i := range cs {
		c, err := connection.New(addr, iso.Spec87, iso.ReadLength, iso.WriteLength,
			connection.SetRequestIDGenerator(tidSTAN{}), connection.SendTimeout(30*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Connect(); err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	// Fresh keys for every run, also against a long-lived external host.
	base := int(benchBase.Add(int64(b.N)) - int64(b.N))
	var next, approved, failed atomic.Int64
	pid := os.Getenv("POSSIM_BENCH_PID")
	cpu0, hostCPU0 := cpuTime(), procCPU(pid)
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range conns * perConn {
		c := cs[i%conns]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				m, _ := iso.NewMessage(benchSale(base + int(i)))
				resp, err := c.Send(m)
				if err != nil || rc(resp) != "00" {
					failed.Add(1)
					continue
				}
				approved.Add(1)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	if n := approved.Load(); n > 0 {
		b.ReportMetric(float64(n)/el.Seconds(), "sales/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/sale")
		if pid != "" {
			b.ReportMetric(float64((procCPU(pid)-hostCPU0).Microseconds())/float64(n), "host-cpu-µs/sale")
		}
	}
	if led != nil {
		if commits, records := led.Commits(); commits > 0 {
			b.ReportMetric(float64(records)/float64(commits), "records/commit")
		}
	}
	if f := failed.Load(); f > 0 {
		b.Errorf("%d sales failed or were declined", f)
	}
}

var benchBase atomic.Int64

func init() { benchBase.Store(time.Now().UnixNano() % 3000000) }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads a process's user+system time from /proc (Linux only).
func procCPU(pid string) time.Duration {
	if pid == "" {
		return 0
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	var utime, stime int64
	// Fields 14 and 15 after the ")" that ends the command name.
	s := string(b)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ')' {
			s = s[i+2:]
			break
		}
	}
	var skip string
	fmt.Sscanf(s, "%s %s %s %s %s %s %s %s %s %s %s %d %d", &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &utime, &stime)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ = 100
}
