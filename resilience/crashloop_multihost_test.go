package resilience

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/internal/pgtest"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/ledger"
)

// splitter is a round-robin TCP load balancer: each connection goes to the
// next backend that accepts it, and is closed when its backend's is.
type splitter struct {
	ln       net.Listener
	mu       sync.Mutex
	backends []string
	next     int
	wg       sync.WaitGroup
}

func newSplitter(t *testing.T) *splitter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &splitter{ln: ln}
	s.wg.Go(s.serve)
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *splitter) set(i int, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.backends) <= i {
		s.backends = append(s.backends, "")
	}
	s.backends[i] = addr
}

func (s *splitter) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() { s.pipe(c) })
	}
}

func (s *splitter) pipe(c net.Conn) {
	defer c.Close()
	s.mu.Lock()
	bs := append([]string(nil), s.backends...)
	first := s.next
	s.next++
	s.mu.Unlock()
	var b net.Conn
	for i := range bs {
		var err error
		if b, err = net.DialTimeout("tcp", bs[(first+i)%len(bs)], time.Second); err == nil {
			break
		}
	}
	if b == nil {
		return
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); done <- struct{}{} }()
	go func() { io.Copy(c, b); done <- struct{}{} }()
	<-done // either side gone: drop both, as a balancer does
}

// TestCrashLoopTwoHosts: two host processes on one PostgreSQL ledger
// behind a round-robin splitter; one of them is killed with SIGKILL
// repeatedly under load and restarted, the other keeps serving. After every
// kill each approval any terminal received is journaled, the ledger
// verifies, and the day's D0 credits stay within the merchant's limit.
func TestCrashLoopTwoHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts host processes")
	}
	dsn := pgtest.Schema(t)
	const d0Daily = 2_000_000 // 20,000.00: the load passes it in a few hundred sales
	hostCmd := func(db string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), hostEnv+"="+db, d0DailyEnv+"="+strconv.Itoa(d0Daily))
		cmd.Stderr = os.Stderr
		return cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	steady, err := startHost(ctx, hostCmd(dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer steady.stop()
	lb := newSplitter(t)
	lb.set(0, steady.addr)
	rep, err := CrashLoop(ctx, CrashConfig{
		DB:    dsn,
		Kills: 4,
		Conns: 8,
		Host:  hostCmd,
		Front: func(addr string) string {
			lb.set(1, addr)
			return lb.ln.Addr().String()
		},
		MinRun: 300 * time.Millisecond,
		MaxRun: 900 * time.Millisecond,
		Logf:   t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %d kills, %d sales approved, %d reversals (%d repeated), %d in doubt and resolved, %d entries",
		rep.Seed, rep.Kills, rep.Sales, rep.Reversals, rep.Repeats, rep.InDoubt, rep.Entries)
	if rep.Kills != 4 || rep.Sales == 0 || rep.Reversals == 0 {
		t.Errorf("the loop did too little to prove anything: %+v", rep)
	}

	led, err := ledger.Open(ctx, dsn, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	m := loadMerchant(profile.Default(), "999999999000001")
	ps, err := led.Postings(ctx, m.ID, time.Unix(0, 0), time.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d0 := map[string]int64{} // by day
	pending := 0
	for _, p := range ps {
		switch p.Type {
		case ledger.PostD0Credit:
			d0[p.Time.Format(time.DateOnly)] += p.Gross
		case ledger.PostT1Pending:
			pending++
		}
	}
	for day, g := range d0 {
		if g > d0Daily {
			t.Errorf("%s: D0 credited %d, over the daily limit %d", day, g, d0Daily)
		}
	}
	if pending == 0 {
		t.Errorf("no sale went past the D0 limit (D0 %v): the limit was not tested", d0)
	}
	t.Log(fmt.Sprintf("D0 by day %v (limit %d), %d sales left for the cut-off", d0, d0Daily, pending))
}
