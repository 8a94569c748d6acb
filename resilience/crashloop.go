package resilience

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// CrashConfig says how to run the crash loop.
type CrashConfig struct {
	// DB is the ledger file every host of the loop runs on.
	DB string
	// Host makes the command that runs one host on db. It must listen on
	// loopback and print "... listening on ADDR" on stdout; its stderr is
	// the caller's to set.
	Host func(db string) *exec.Cmd
	// Kills is how many times the host is killed with SIGKILL.
	Kills int
	// Conns is the number of terminals (default 8).
	Conns int
	// MinRun and MaxRun bound the load before each kill; each run lasts a
	// random time between them (default 300 ms to 1.5 s).
	MinRun, MaxRun time.Duration
	Profile        *profile.Profile // nil: the default profile
	Seed           uint64           // 0: from the clock
	// Logf, when set, receives one line per kill.
	Logf func(format string, args ...any)
	// Front, when set, is where the terminals connect once the host
	// listens at addr: a load balancer in front of it and other hosts on
	// the same ledger. Nil: the host itself.
	Front func(addr string) string
}

// CrashReport is what the loop saw and checked.
type CrashReport struct {
	Seed      uint64
	Kills     int
	Sales     int   // sales answered 00
	Reversals int   // reversals answered 00
	Repeats   int   // repeated reversals (0401) answered as the first
	InDoubt   int   // requests left without an answer by a kill, all resolved by reversal
	Entries   int   // journal entries at the end
	Balance   int64 // the load merchant's balance at the end plus what waits for the cut-off, fen
	Expected  int64 // what the terminals' approvals and reversals add up to
	Elapsed   time.Duration
}

// CrashError is a check that failed after a kill.
type CrashError struct {
	Kill     int // 1-based; Kills+1 is the final check after a clean stop
	Problems []string
}

func (e *CrashError) Error() string {
	n := len(e.Problems)
	shown := e.Problems
	if n > 10 {
		shown = shown[:10]
	}
	return fmt.Sprintf("after kill %d: %d problems:\n  %s", e.Kill, n, strings.Join(shown, "\n  "))
}

// CrashLoop runs the loop: start the host, put load on it, kill it at a
// random moment, check the ledger, restart; Kills times, then a last run
// that resolves every request left in doubt, a clean stop and the exact
// balance check.
func CrashLoop(ctx context.Context, cfg CrashConfig) (*CrashReport, error) {
	if cfg.Host == nil || cfg.DB == "" {
		return nil, errors.New("crash loop: config needs Host and DB")
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 8
	}
	if cfg.MinRun <= 0 {
		cfg.MinRun = 300 * time.Millisecond
	}
	if cfg.MaxRun < cfg.MinRun {
		cfg.MaxRun = cfg.MinRun + 1200*time.Millisecond
	}
	if cfg.Profile == nil {
		cfg.Profile = profile.Default()
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	terms, err := loadTerminals(cfg.Profile, cfg.Conns)
	if err != nil {
		return nil, fmt.Errorf("crash loop: %w", err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xc4a5))
	states := make([]*termState, len(terms))
	for i, t := range terms {
		t.SetSTAN(rng.IntN(500000)) // fresh keys, also on a reused ledger
		states[i] = &termState{t: t, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
	}
	rep := &CrashReport{Seed: cfg.Seed}
	start := time.Now()
	for k := 1; k <= cfg.Kills+1; k++ {
		final := k > cfg.Kills
		h, err := startHost(ctx, cfg.Host(cfg.DB))
		if err != nil {
			return rep, fmt.Errorf("crash loop: starting host %d: %w", k, err)
		}
		addr := h.addr
		if cfg.Front != nil {
			addr = cfg.Front(addr)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, s := range states {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.cycle(ctx, addr, stop)
			}()
		}
		run := cfg.MinRun + time.Duration(rng.Int64N(int64(cfg.MaxRun-cfg.MinRun)+1))
		select {
		case <-time.After(run):
		case <-ctx.Done():
		}
		if final {
			close(stop)
			wg.Wait()
			err = h.stop()
		} else {
			err = h.kill()
			close(stop)
			wg.Wait()
		}
		if err != nil {
			return rep, fmt.Errorf("crash loop: host %d: %w", k, err)
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if !final {
			rep.Kills++
		}
		probs, err := check(ctx, cfg, states, rep, final)
		if err != nil {
			return rep, fmt.Errorf("crash loop: checking after kill %d: %w", k, err)
		}
		doubt := 0
		for _, s := range states {
			doubt += len(s.doubtSales) + len(s.doubtRevs)
			probs = append(probs, s.problems...)
			s.problems = nil
		}
		if final && doubt > 0 {
			probs = append(probs, fmt.Sprintf("%d requests still in doubt after the last run", doubt))
		}
		if len(probs) > 0 {
			return rep, &CrashError{Kill: k, Problems: probs}
		}
		if final {
			cfg.Logf("clean stop: %d entries, balance %d = expected %d", rep.Entries, rep.Balance, rep.Expected)
		} else {
			cfg.Logf("kill %d after %v: ledger verified, %d sales approved so far, %d in doubt", k, run.Round(time.Millisecond), rep.Sales, doubt)
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// check opens the ledger the killed host left and checks it.
func check(ctx context.Context, cfg CrashConfig, states []*termState, rep *CrashReport, final bool) ([]string, error) {
	led, err := ledger.Open(ctx, cfg.DB, ledger.Options{})
	if err != nil {
		return nil, err
	}
	defer led.Close()
	var probs []string
	breaches, err := led.Verify(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range breaches {
		probs = append(probs, "verify: "+b.String())
	}
	rep.Sales, rep.Reversals, rep.Repeats, rep.InDoubt, rep.Balance = 0, 0, 0, 0, 0
	merchants := map[string]bool{}
	for _, s := range states {
		merchants[s.t.Merchant] = true
		rep.Sales += len(s.approved)
		rep.Reversals += s.reversals
		rep.Repeats += s.repeats
		rep.InDoubt += s.doubted
		for _, a := range s.approved {
			e, ok, err := led.Lookup(ctx, a.key)
			switch {
			case err != nil:
				return nil, err
			case !ok:
				probs = append(probs, fmt.Sprintf("approval %s (%d fen) the terminal received is not in the journal", a.key, a.amount))
			case e.RespCode != iso.RCApproved || e.Amount != a.amount:
				probs = append(probs, fmt.Sprintf("approval %s (%d fen) is journaled as %s for %d", a.key, a.amount, e.RespCode, e.Amount))
			}
		}
	}
	var expected int64
	for mid := range merchants {
		m, err := led.Merchant(ctx, mid)
		if err != nil {
			return nil, err
		}
		bal, err := led.Balance(ctx, mid)
		if err != nil {
			return nil, err
		}
		ps, err := led.Postings(ctx, mid, time.Unix(0, 0), time.Now().Add(48*time.Hour))
		if err != nil {
			return nil, err
		}
		var sum, pending int64
		for _, p := range ps {
			switch p.Type {
			case ledger.PostD0Credit, ledger.PostT1Credit:
				sum += p.Net
			case ledger.PostReverseD0:
				sum -= p.Net
			}
			switch p.Type { // what waits for the cut-off: sales over the D0 limits
			case ledger.PostT1Pending:
				pending += p.Net
			case ledger.PostCancelT1, ledger.PostT1Credit:
				pending -= p.Net
			}
		}
		if sum != bal {
			probs = append(probs, fmt.Sprintf("merchant %s: balance %d, its postings add up to %d", mid, bal, sum))
		}
		rep.Balance += bal + pending
		for _, s := range states {
			if s.t.Merchant != mid {
				continue
			}
			for _, a := range s.approved {
				if !a.reversed {
					expected += a.amount - ledger.Fee(a.amount, m.CardFeeBPS)
				}
			}
		}
	}
	rep.Expected = expected
	if n, _, err := led.Stats(ctx); err == nil {
		rep.Entries = n
	}
	// Until every request in doubt is resolved the terminals' view only
	// bounds the balance; after the clean stop it must match exactly.
	if final && rep.Balance != expected {
		var live, gross int64
		for _, s := range states {
			for _, a := range s.approved {
				if !a.reversed {
					live++
					gross += a.amount
				}
			}
		}
		probs = append(probs, fmt.Sprintf("balance %d, but the terminals' approvals less their reversals add up to %d (%d sales live, %d fen gross)", rep.Balance, expected, live, gross))
	}
	return probs, nil
}

// hostProc is a running host process.
type hostProc struct {
	cmd  *exec.Cmd
	addr string
	out  chan struct{} // closed when stdout is drained
}

func startHost(ctx context.Context, cmd *exec.Cmd) (*hostProc, error) {
	orphanGuard(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &hostProc{cmd: cmd, out: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		defer close(h.out)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "listening on "); i >= 0 {
				select {
				case addrc <- strings.TrimSpace(sc.Text()[i+len("listening on "):]):
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	select {
	case h.addr = <-addrc:
		return h, nil
	case <-h.out:
		err = errors.New("host exited before listening")
	case <-t.C:
		err = errors.New("host did not say where it listens within 15 s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, err
}

// kill ends the host with SIGKILL: no deferred close, no checkpoint.
func (h *hostProc) kill() error {
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-h.out
	h.cmd.Wait()
	return nil
}

// stop ends the host with SIGINT and waits for a clean exit.
func (h *hostProc) stop() error {
	if err := h.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { <-h.out; done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("host exited uncleanly: %w", err)
		}
		return nil
	case <-time.After(15 * time.Second):
		h.cmd.Process.Kill()
		<-done
		return errors.New("host did not stop within 15 s of SIGINT")
	}
}

// approval is a sale the terminal saw approved.
type approval struct {
	sale     *iso8583.Message
	key      ledger.Key
	amount   int64
	reversed bool // a reversal of it was answered 00, or is in doubt and will be resolved
}

// termState is one terminal's view of its sales across host restarts.
type termState struct {
	t          *Terminal
	rng        *rand.Rand
	approved   []*approval
	live       []*approval        // approved and not reversed
	doubtSales []*iso8583.Message // sent, never answered
	doubtRevs  []*iso8583.Message // reversals sent, never answered
	reversals  int
	repeats    int
	doubted    int
	problems   []string
}

// cycle runs one host lifetime: connect, resolve what the last kill left
// in doubt, then sell and reverse until the host dies or stop closes.
func (s *termState) cycle(ctx context.Context, addr string, stop <-chan struct{}) {
	defer s.t.Close()
	if err := s.t.Dial(ctx, addr); err != nil {
		return
	}
	if !s.resolve() {
		return
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		if len(s.live) > 0 && s.rng.IntN(10) == 0 {
			if !s.reverse(s.rng.IntN(len(s.live)), s.rng.IntN(3) == 0) {
				return
			}
			continue
		}
		if !s.sell() {
			return
		}
	}
}

func (s *termState) sell() bool {
	amount := int64(1 + s.rng.IntN(50000))
	m := s.t.Sale(amount, time.Now())
	resp, err := s.t.Send(m)
	if err != nil {
		s.doubtSales = append(s.doubtSales, m)
		s.doubted++
		return false
	}
	if rc := RC(resp); rc != iso.RCApproved {
		s.problems = append(s.problems, fmt.Sprintf("%s: sale of %d answered %s", s.t.ID, amount, rc))
		return true
	}
	a := &approval{sale: m, key: keyOf(m), amount: amount}
	s.approved = append(s.approved, a)
	s.live = append(s.live, a)
	return true
}

// reverse reverses live sale i and, if repeat, sends the reversal again as
// 0401, which must be answered as the first and post nothing.
func (s *termState) reverse(i int, repeat bool) bool {
	a := s.live[i]
	s.live = append(s.live[:i], s.live[i+1:]...)
	a.reversed = true
	rev := s.t.Reversal(a.sale, time.Now())
	resp, err := s.t.Send(rev)
	if err != nil {
		s.doubtRevs = append(s.doubtRevs, rev)
		s.doubted++
		return false
	}
	if rc := RC(resp); rc != iso.RCApproved {
		s.problems = append(s.problems, fmt.Sprintf("%s: reversal of approved %s answered %s", s.t.ID, a.key, rc))
		return true
	}
	s.reversals++
	if !repeat {
		return true
	}
	rev.MTI(iso.MTIReversalRepeat)
	resp, err = s.t.Send(rev)
	if err != nil {
		s.doubtRevs = append(s.doubtRevs, rev)
		s.doubted++
		return false
	}
	if rc := RC(resp); rc != iso.RCApproved {
		s.problems = append(s.problems, fmt.Sprintf("%s: repeated reversal of %s answered %s", s.t.ID, a.key, rc))
	}
	s.repeats++
	return true
}

// resolve settles what a kill left in doubt, as a terminal does: a sale
// without an answer is reversed, a reversal without an answer is repeated
// until answered. Either way the sale's money ends undone.
func (s *termState) resolve() bool {
	for len(s.doubtRevs) > 0 {
		rev := s.doubtRevs[0]
		rev.MTI(iso.MTIReversalRepeat)
		resp, err := s.t.Send(rev)
		if err != nil {
			return false
		}
		if rc := RC(resp); rc != iso.RCApproved {
			s.problems = append(s.problems, fmt.Sprintf("%s: repeated reversal answered %s", s.t.ID, rc))
		}
		s.doubtRevs = s.doubtRevs[1:]
	}
	for len(s.doubtSales) > 0 {
		sale := s.doubtSales[0]
		rev := s.t.Reversal(sale, time.Now())
		resp, err := s.t.Send(rev)
		if err != nil {
			s.doubtSales = s.doubtSales[1:]
			s.doubtRevs = append(s.doubtRevs, rev)
			return false
		}
		// 00: it was journaled and is now undone (or was declined);
		// 25: the host never journaled it.
		if rc := RC(resp); rc != iso.RCApproved && rc != iso.RCOriginalNotFound {
			s.problems = append(s.problems, fmt.Sprintf("%s: reversal of a sale in doubt answered %s", s.t.ID, rc))
		}
		s.doubtSales = s.doubtSales[1:]
	}
	return true
}

func keyOf(m *iso8583.Message) ledger.Key {
	stan, _ := m.GetString(11)
	dt, _ := m.GetString(7)
	return ledger.Key{TID: mustString(m, 41), STAN: stan, Date: dt[:4]}
}

func mustString(m *iso8583.Message, id int) string {
	s, _ := m.GetString(id)
	return s
}
