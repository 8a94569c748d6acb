package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// hostTIDSTAN matches responses on TID + STAN, as a terminal does.
type hostTIDSTAN struct{}

func (hostTIDSTAN) GenerateRequestID(m *iso8583.Message) (string, error) {
	tid, _ := m.GetString(41)
	stan, _ := m.GetString(11)
	return tid + "/" + stan, nil
}

func hostClient(t *testing.T, addr string) *connection.Connection {
	t.Helper()
	c, err := connection.New(addr, iso.Spec87, iso.ReadLength, iso.WriteLength,
		connection.SetRequestIDGenerator(hostTIDSTAN{}), connection.SendTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	return c
}

func hostSale(stan int) *iso8583.Message {
	m, _ := iso.NewMessage(&iso.Financial{MTI: iso.MTIFinancialRequest, PAN: "5413330089010012",
		ProcessingCode: iso.ProcPurchase, Amount: "000000000100", TransmissionDT: "1125103000",
		STAN: fmt.Sprintf("%06d", stan), Expiry: "3012", EntryMode: "051", TerminalID: "TERM0001",
		MerchantID: "123456789012345", Currency: "156", Reserved60: "0000012.1.0"})
	return m
}

// hostListenLine reads stdout until the "listening on" line and returns the address.
func hostListenLine(t *testing.T, r io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "possim host listening on "); ok {
			go io.Copy(io.Discard, r)
			return addr
		}
	}
	t.Fatalf("host never said where it listens: %v", sc.Err())
	return ""
}

func TestHostCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "host.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"host", "--listen", "127.0.0.1:0", "--db", db}, &Env{Stdout: pw, Stderr: &stderr, Getenv: os.Getenv})
		pw.Close()
	}()
	addr := hostListenLine(t, pr)
	c := hostClient(t, addr)
	resp, err := c.Send(hostSale(1))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := resp.GetString(39); code != "00" {
		t.Errorf("sale answered %s", code)
	}
	c.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var out bytes.Buffer
	if code := Main(context.Background(), []string{"ledger", "--db", db, "verify"}, &Env{Stdout: &out, Stderr: &out}); code != 0 {
		t.Errorf("verify exit %d: %s", code, out.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"ledger", "--db", db, "statement", "--merchant", "123456789012345",
		"--period", "month", "--date", time.Now().Format("2006-01-02"), "--json"}, &Env{Stdout: &out, Stderr: &out}); code != 0 || !strings.Contains(out.String(), `"sales_count": 1`) {
		t.Errorf("statement exit %d:\n%s", code, out.String())
	}
}

func TestHostBadInput(t *testing.T) {
	dir := t.TempDir()
	badProfile := filepath.Join(dir, "profile.yaml")
	os.WriteFile(badProfile, []byte("name: x\ncurrency: CNY\nmerchants:\n  - id: 1\n    colour: red\n"), 0o644)
	badFaults := filepath.Join(dir, "faults.yaml")
	os.WriteFile(badFaults, []byte("faults:\n  - action: respond\n    code: \"51\"\n  - action: explode\n"), 0o644)
	notDB := filepath.Join(dir, "notdb")
	os.WriteFile(notDB, bytes.Repeat([]byte("not a database "), 400), 0o644)
	db := filepath.Join(dir, "host.db")
	for _, c := range []struct {
		name  string
		args  []string
		code  int
		where string
	}{
		{"bad profile", []string{"host", "--db", db, "--profile", badProfile}, 2, badProfile + ":"},
		{"bad fault file", []string{"host", "--db", db, "--faults", badFaults}, 2, badFaults + ":4"},
		{"not a database", []string{"host", "--listen", "127.0.0.1:0", "--db", notDB}, 2, notDB},
		{"no db", []string{"host"}, 2, "--db"},
		{"db in a missing directory", []string{"host", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "nodir", "x.db")}, 2, filepath.Join(dir, "nodir")},
		{"negative max-conns", []string{"host", "--db", db, "--max-conns", "-1"}, 2, "--max-conns -1"},
		{"unknown spec", []string{"host", "--db", db, "--spec", "nope"}, 2, "possim87"},
		{"verify missing file", []string{"ledger", "--db", filepath.Join(dir, "none.db"), "verify"}, 2, "none.db"},
		{"bad period", []string{"ledger", "--db", db, "statement", "--merchant", "1", "--period", "week"}, 2, "week"},
	} {
		var out bytes.Buffer
		// Bounded: a host that wrongly accepts the input would serve for ever.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := Main(ctx, c.args, &Env{Stdout: &out, Stderr: &out})
		cancel()
		if code != c.code || !strings.Contains(out.String(), c.where) {
			t.Errorf("%s: exit %d, output %q; want exit %d naming %q", c.name, code, out.String(), c.code, c.where)
		}
	}
}

// TestHelperHostProcess is not a test: it is the child process of the crash
// test, running Main with the arguments in POSSIM_HOST_ARGS.
func TestHelperHostProcess(t *testing.T) {
	args := os.Getenv("POSSIM_HOST_ARGS")
	if args == "" {
		t.Skip("helper process for TestHostCrashRecovery")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if n := os.Getenv("POSSIM_HOST_NOFILE"); n != "" {
		lim, _ := strconv.ParseUint(n, 10, 64)
		rl := syscall.Rlimit{Cur: lim, Max: lim}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			fmt.Fprintln(os.Stderr, "lowering the open-file limit:", err)
			os.Exit(3)
		}
	}
	code := Main(ctx, strings.Split(args, "\x1f"), &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

func startChildHost(t *testing.T, db string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHostProcess$")
	cmd.Env = append(os.Environ(), "POSSIM_HOST_ARGS="+strings.Join([]string{"host", "--listen", "127.0.0.1:0", "--db", db}, "\x1f"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, hostListenLine(t, out)
}

// TestHostCrashRecovery kills the host with SIGKILL in the middle of a
// stream of sales, restarts it on the same database and carries on: every
// approval a terminal received must be in the journal, nothing is posted
// twice, and `possim ledger verify` passes.
func TestHostCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	db := filepath.Join(t.TempDir(), "host.db")
	var mu sync.Mutex
	var approved []int
	stan := 0
	run := func(addr string, n int, kill func()) {
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			c := hostClient(t, addr)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for {
					mu.Lock()
					if stan >= n {
						mu.Unlock()
						return
					}
					stan++
					s := stan
					mu.Unlock()
					resp, err := c.Send(hostSale(s))
					if err != nil {
						return // the host died under us
					}
					if code, _ := resp.GetString(39); code == "00" {
						mu.Lock()
						approved = append(approved, s)
						if len(approved) == 150 && kill != nil {
							kill()
						}
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	cmd, addr := startChildHost(t, db)
	run(addr, 400, func() { cmd.Process.Signal(syscall.SIGKILL) })
	cmd.Wait()
	before := len(approved)
	if before < 150 {
		t.Fatalf("only %d approvals before the kill", before)
	}
	cmd2, addr2 := startChildHost(t, db)
	run(addr2, stan+150, nil)
	cmd2.Process.Signal(syscall.SIGTERM)
	if err := cmd2.Wait(); err != nil {
		t.Errorf("host after SIGTERM: %v", err)
	}
	if len(approved) < before+100 {
		t.Errorf("restarted host approved only %d sales", len(approved)-before)
	}

	var out bytes.Buffer
	if code := Main(context.Background(), []string{"ledger", "--db", db, "verify"}, &Env{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("ledger verify exit %d:\n%s", code, out.String())
	}
	ctx := context.Background()
	led, err := ledger.Open(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	for _, s := range approved {
		e, ok, err := led.Lookup(ctx, ledger.Key{TID: "TERM0001", STAN: fmt.Sprintf("%06d", s), Date: "1125"})
		if err != nil || !ok || e.RespCode != "00" {
			t.Errorf("approval STAN %06d not journaled approved: %+v %v %v", s, e, ok, err)
		}
	}
	ps, err := led.Postings(ctx, "123456789012345", time.Now().AddDate(0, 0, -2), time.Now().AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[ledger.Key]int{}
	for _, p := range ps {
		seen[p.EntryKey]++
		if seen[p.EntryKey] > 1 {
			t.Errorf("%s posted twice", p.EntryKey)
		}
	}
	if len(seen) < len(approved) {
		t.Errorf("%d postings for %d approvals received", len(seen), len(approved))
	}
	t.Logf("%d approvals received (%d before the kill), %d sales posted", len(approved), before, len(seen))
}

// TestHostPortInUse: a host that cannot listen exits 2 naming the address
// and leaves no database file behind.
func TestHostPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	db := filepath.Join(t.TempDir(), "x.db")
	var out bytes.Buffer
	code := Main(context.Background(), []string{"host", "--listen", ln.Addr().String(), "--db", db}, &Env{Stdout: &out, Stderr: &out})
	if code != 2 || !strings.Contains(out.String(), ln.Addr().String()) {
		t.Errorf("exit %d, output %q; want exit 2 naming %s", code, out.String(), ln.Addr())
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a host that never listened left %s behind (%v)", db, err)
	}
}

// TestHostLogsSeed: a seed drawn from the clock is printed, so the run can
// be repeated; a seed given is not repeated back.
func TestHostLogsSeed(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--seed", "42"}, false}} {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		var stderr bytes.Buffer
		done := make(chan int, 1)
		args := append([]string{"host", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "h.db")}, c.args...)
		go func() {
			done <- Main(ctx, args, &Env{Stdout: pw, Stderr: &stderr, Getenv: os.Getenv})
			pw.Close()
		}()
		sc := bufio.NewScanner(pr)
		var seedLine string
		for sc.Scan() {
			if strings.Contains(sc.Text(), "random seed") {
				seedLine = sc.Text()
			}
			if strings.HasPrefix(sc.Text(), "possim host listening on ") {
				break
			}
		}
		go io.Copy(io.Discard, pr)
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, stderr.String())
		}
		if got := seedLine != ""; got != c.want {
			t.Errorf("%v: seed line %q; want one: %v", args, seedLine, c.want)
		}
		if c.want {
			var n uint64
			if _, err := fmt.Sscanf(seedLine, "possim host random seed %d", &n); err != nil || n == 0 {
				t.Errorf("seed line %q does not give the seed: %v", seedLine, err)
			}
		}
	}
}

func TestMaxConnsFor(t *testing.T) {
	for _, c := range []struct {
		limit uint64
		want  int
	}{{64, 32}, {1024, 992}, {33, 1}, {10, 1}, {0, 1}, {1 << 40, 0}} {
		if got := maxConnsFor(c.limit); got != c.want {
			t.Errorf("maxConnsFor(%d) = %d; want %d", c.limit, got, c.want)
		}
	}
}

// TestHostDescriptorLimit runs the host with 64 open files and sends it 80
// clients: the default connection cap refuses the excess politely, the host
// never runs out of descriptors, and once they leave a terminal is served.
func TestHostDescriptorLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHostProcess$")
	cmd.Env = append(os.Environ(), "POSSIM_HOST_NOFILE=64", "POSSIM_HOST_ARGS="+strings.Join([]string{"host", "--listen", "127.0.0.1:0",
		"--db", filepath.Join(t.TempDir(), "host.db"), "-v"}, "\x1f"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("host: %v", err)
		}
	}()
	addr := hostListenLine(t, out)
	var idle []net.Conn
	for i := 0; i < 80; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			continue // refused with a reset before connect returned
		}
		idle = append(idle, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "MaxConns") {
		if time.Now().After(deadline) {
			t.Fatalf("80 clients against 64 open files: no refusal logged\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range idle {
		c.Close()
	}
	if strings.Contains(logs.String(), "accept failing") {
		t.Errorf("host ran out of descriptors despite its default cap:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "max_conns=32") {
		t.Errorf("no connection limit of 32 logged for 64 open files:\n%s", logs.String())
	}
	var code string
	for stan := 1; time.Now().Before(deadline) && code == ""; stan++ {
		c, err := connection.New(addr, iso.Spec87, iso.ReadLength, iso.WriteLength,
			connection.SetRequestIDGenerator(hostTIDSTAN{}), connection.SendTimeout(time.Second))
		if err == nil && c.Connect() == nil {
			if resp, err := c.Send(hostSale(stan)); err == nil {
				code, _ = resp.GetString(39)
			}
		}
		if c != nil {
			c.Close()
		}
	}
	if code != "00" {
		t.Fatalf("terminal after the flood answered %q\n%s", code, logs.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestHostVerboseLogsDecisions: -v logs one line per answer with the MTI,
// the masked PAN, the amount, the response code and why; never the PAN.
func TestHostVerboseLogsDecisions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	stderr := &syncBuf{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"host", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "h.db"), "-v"},
			&Env{Stdout: pw, Stderr: stderr, Getenv: os.Getenv})
		pw.Close()
	}()
	c := hostClient(t, hostListenLine(t, pr))
	defer c.Close()
	if _, err := c.Send(hostSale(7)); err != nil {
		t.Fatal(err)
	}
	bad := hostSale(8)
	bad.Field(11, "00000X")
	if _, err := c.Send(bad); err != nil {
		t.Fatal(err)
	}
	c.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	var sale, format string
	for _, l := range strings.Split(stderr.String(), "\n") {
		switch {
		case !strings.Contains(l, "msg=decision"):
		case strings.Contains(l, "stan=000007"):
			sale = l
		case strings.Contains(l, "stan=00000X"):
			format = l
		}
	}
	for _, want := range []string{"mti=0200", "pan=541333******0012", "amount=000000000100", "rc=00", "why=approved"} {
		if !strings.Contains(sale, want) {
			t.Errorf("decision line for the sale %q lacks %s", sale, want)
		}
	}
	if !strings.Contains(format, "rc=30") || !strings.Contains(format, "field 11") {
		t.Errorf("decision line for a bad STAN %q: want rc=30 and why naming field 11", format)
	}
	if strings.Contains(stderr.String(), "5413330089010012") {
		t.Error("the log shows a PAN in clear")
	}
}

// TestHostGC: the host collects at hostGCPercent unless GOGC is set, when
// the user's setting stands.
func TestHostGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	t.Setenv("GOGC", "")
	setHostGC()
	if got := debug.SetGCPercent(100); got != hostGCPercent {
		t.Errorf("without GOGC the host collects at %d %%; want %d", got, hostGCPercent)
	}
	t.Setenv("GOGC", "50")
	setHostGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set the host changed the GC percent to %d", got)
	}
}
