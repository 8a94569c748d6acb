package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

// The external dry-run: possim's terminal runs the certification plan
// against a host in another process, as it would against a real acquirer's
// test host, and against the same host behind `possim proxy` with faults set
// through Toxiproxy's own Go client. The cases that make the host misbehave
// or read its ledger, and those that need a fresh batch, are left out, as
// the plan's own description says for an external run.
const dryRunTags = "~@possim-host && ~@fresh-terminal"

func TestExternalDryRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a host process and runs the certification plan twice")
	}
	dir := t.TempDir()
	_, addr := startChildHost(t, filepath.Join(dir, "host.db"))
	state := filepath.Join(dir, "terminal.json")
	// Twice in a row: a real terminal's STAN, batch and card counters
	// persist, so the second run must not trip the host's duplicate or
	// replay checks.
	for run := 1; run <= 2; run++ {
		dryRun(t, run, addr, state)
	}
}

func TestExternalDryRunThroughProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a host and a proxy process")
	}
	dir := t.TempDir()
	_, hostAddr := startChildHost(t, filepath.Join(dir, "host.db"))
	listen := freeAddr(t)
	api := startChildProxy(t, "--api", "127.0.0.1:0", "--listen", listen, "--upstream", hostAddr)

	client := toxiproxy.NewClient(api)
	px, err := client.Proxy("possim")
	if err != nil {
		t.Fatalf("Toxiproxy's client cannot find the possim proxy: %v", err)
	}
	const lat = 40 * time.Millisecond
	if _, err := px.AddToxic("slow_host", "latency", "downstream", 1, toxiproxy.Attributes{"latency": lat.Milliseconds()}); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "terminal.json")
	dryRun(t, 1, listen, state)

	// Every answer is late by the toxic's latency: a sign-on through the
	// proxy takes at least that long.
	start := time.Now()
	out := terminalCmd(t, 0, listen, state, "signon")
	if took := time.Since(start); took < lat {
		t.Errorf("echo through a %v latency toxic took %v:\n%s", lat, took, out)
	}
	if err := px.RemoveToxic("slow_host"); err != nil {
		t.Fatal(err)
	}

	// A host that goes silent: the timeout toxic swallows the answer, the
	// terminal times out and keeps a reversal, which it sends and gets
	// answered once the link is healed.
	if _, err := px.AddToxic("silent_host", "timeout", "downstream", 1, toxiproxy.Attributes{"timeout": 0}); err != nil {
		t.Fatal(err)
	}
	var sale termJSON
	out = terminalCmd(t, 1, listen, state, "sale", "--amount", "12.34", "--card", "visa-credit", "--entry", "chip", "--pin", "1234", "--timeout", "1s", "--json")
	if err := json.Unmarshal([]byte(out), &sale); err != nil {
		t.Fatalf("terminal --json: %v\n%s", err, out)
	}
	if len(sale.PendingReversals) != 1 {
		t.Fatalf("after a silent host the terminal holds %d reversals, want 1:\n%s", len(sale.PendingReversals), out)
	}
	if err := px.RemoveToxic("silent_host"); err != nil {
		t.Fatal(err)
	}
	var next termJSON
	out = terminalCmd(t, 0, listen, state, "sale", "--amount", "5.00", "--card", "visa-credit", "--entry", "chip", "--pin", "1234", "--json")
	if err := json.Unmarshal([]byte(out), &next); err != nil {
		t.Fatalf("terminal --json: %v\n%s", err, out)
	}
	if len(next.PendingReversals) != 0 {
		t.Errorf("the reversal is still pending once the link healed:\n%s", out)
	}
}

// termJSON is the part of `possim terminal --json` these tests read.
type termJSON struct {
	OK               bool              `json:"ok"`
	PendingReversals []json.RawMessage `json:"pending_reversals"`
}

// dryRun runs the plan at a fifth of real time: the terminal waits 6 s for
// an answer, which a machine busy with the rest of CI still meets (at the
// default 0.05 a QR payment's 1.5 s wait was missed once under load).
func dryRun(t *testing.T, run int, addr, state string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"run", "../../features/certification", "--host", addr,
		"--state", state, "--tags", dryRunTags, "--format", "progress", "--time-scale", "0.2"},
		&Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Fatalf("dry-run %d against %s: exit %d\n%s\n%s", run, addr, code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "passed") {
		t.Fatalf("dry-run %d: no scenario passed:\n%s", run, stdout.String())
	}
}

// terminalCmd runs `possim terminal` against addr and checks its exit code.
func terminalCmd(t *testing.T, want int, addr, state string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	all := append([]string{"terminal", "--host", addr, "--state", state}, args...)
	code := Main(context.Background(), all, &Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }})
	if code != want {
		t.Fatalf("possim %s: exit %d, want %d\n%s\n%s", strings.Join(all, " "), code, want, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// startChildProxy runs `possim proxy` in a process of its own and returns
// the address of its API.
func startChildProxy(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHostProcess$")
	cmd.Env = append(os.Environ(), "POSSIM_HOST_ARGS="+strings.Join(append([]string{"proxy"}, args...), "\x1f"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if api, ok := strings.CutPrefix(sc.Text(), "possim proxy API on "); ok {
			go io.Copy(io.Discard, out)
			return api
		}
	}
	t.Fatalf("proxy never said where its API is: %v", sc.Err())
	return ""
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
