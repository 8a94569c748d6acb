package acquirer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/ledger"
)

// failingListener fails its first n Accepts with EMFILE, as a process out
// of file descriptors sees it, then accepts for real.
type failingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// lockedBuf collects log output written from several goroutines.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestAcceptErrorsBackOff: accepts that fail for a while do not stop the
// host; it backs off, logs the run once, and serves the next terminal.
func TestAcceptErrorsBackOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuf{}
	l := openLedger(t, t.TempDir())
	defer l.Close()
	h, err := New(context.Background(), Config{Profile: profile.Default(), Ledger: l, Now: func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	const failures = 6
	fl := &failingListener{Listener: ln}
	fl.n.Store(failures)
	go h.Serve(fl)

	tm := dial(t, ln.Addr().String())
	if code := rc(tm.mustSend(tm.sale(visa, 100))); code != "00" {
		t.Fatalf("sale after %d failed accepts answered %s", failures, code)
	}
	if s := h.Stats(); s.AcceptErrors != failures {
		t.Errorf("AcceptErrors %d; want %d", s.AcceptErrors, failures)
	}
	out := logs.String()
	if n := strings.Count(out, "accept failing"); n != 1 {
		t.Errorf("%d lines for one run of %d failed accepts; want 1:\n%s", n, failures, out)
	}
	if !strings.Contains(out, "accepting again") || !strings.Contains(out, fmt.Sprintf("failed_accepts=%d", failures)) {
		t.Errorf("no line saying accepting works again after %d failures:\n%s", failures, out)
	}
	select {
	case err := <-h.Err():
		t.Errorf("Err delivered %v for errors the host recovered from", err)
	default:
	}
}

// TestAcceptStopsOnPermanentError: a listener that fails for good ends
// Serve, and Err says so, instead of the host looking healthy.
func TestAcceptStopsOnPermanentError(t *testing.T) {
	h := startHost(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := h.Serve(ln); err == nil {
		t.Fatal("Serve on a closed listener returned nil")
	}
	select {
	case err := <-h.Err():
		if !strings.Contains(err.Error(), "accepting") {
			t.Errorf("Err: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Err delivered nothing")
	}
}

const emfileEnv = "POSSIM_TEST_EMFILE_DB"

// TestHelperEMFILEHost is not a test: it is the host process of
// TestAcceptSurvivesEMFILE, serving with a handful of spare file
// descriptors and no connection cap, so accepting runs into EMFILE.
func TestHelperEMFILEHost(t *testing.T) {
	db := os.Getenv(emfileEnv)
	if db == "" {
		t.Skip("host process for TestAcceptSurvivesEMFILE")
	}
	l, err := openLedgerAt(db)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h, err := New(context.Background(), Config{Profile: profile.Default(), Ledger: l,
		Now: func() time.Time { return testNow }, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err == nil {
		err = h.Start("127.0.0.1:0")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rl := syscall.Rlimit{Cur: uint64(len(fds) + 8), Max: uint64(len(fds) + 8)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s limit %d\n", h.Addr(), rl.Cur)
	io.Copy(io.Discard, os.Stdin) // until the test closes our stdin
	h.Close()
	l.Close()
	os.Exit(0)
}

// TestAcceptSurvivesEMFILE runs out of file descriptors for real in a host
// process: 40 idle clients fill its few spare descriptors, accepting fails
// with EMFILE, and once they leave a new terminal is served.
func TestAcceptSurvivesEMFILE(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd to count open descriptors")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEMFILEHost$")
	cmd.Env = append(os.Environ(), emfileEnv+"="+filepath.Join(t.TempDir(), "host.db"))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	logs := &lockedBuf{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("host process: %v\n%s", err, logs.String())
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("host process said nothing: %v\n%s", err, logs.String())
	}
	var addr string
	var limit int
	if _, err := fmt.Sscanf(line, "listening %s limit %d", &addr, &limit); err != nil {
		t.Fatalf("host process said %q: %v", line, err)
	}

	var idle []net.Conn
	for i := 0; i < 40; i++ {
		c, err := net.Dial("tcp", addr) // the kernel completes it; the host may not take it
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "accept failing") {
		if time.Now().After(deadline) {
			t.Fatalf("40 clients against a descriptor limit of %d: no accept failure logged\n%s", limit, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range idle {
		c.Close()
	}
	tm := dial(t, addr)
	var code string
	for time.Now().Before(deadline.Add(10 * time.Second)) {
		resp, err := tm.send(tm.sale(visa, 100))
		if err == nil {
			code = rc(resp)
			break
		}
	}
	if code != "00" {
		t.Fatalf("terminal after the descriptors came back: answered %q\n%s", code, logs.String())
	}
	out := logs.String()
	runs, ends := strings.Count(out, "accept failing"), strings.Count(out, "accepting again")
	if runs > ends+1 {
		t.Errorf("%d 'accept failing' lines for %d runs of failures: want one per run\n%s", runs, ends, out)
	}
	t.Logf("descriptor limit %d: %d accept-failure runs logged, host served again", limit, strings.Count(out, "accept failing"))
}

func openLedgerAt(path string) (*ledger.Ledger, error) {
	return ledger.Open(context.Background(), path, ledger.Options{Synchronous: "NORMAL"})
}
