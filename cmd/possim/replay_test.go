package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

const sessionDir = "../../simulators/trace/testdata/"

// faultHost runs our acquirer on loopback with the faults the testdata
// session was recorded with, or others.
func faultHost(t *testing.T, faults string) string {
	t.Helper()
	ctx := context.Background()
	led, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "host.db"), ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := acquirer.ParseFaults([]byte(faults), "faults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h, err := acquirer.New(ctx, acquirer.Config{Profile: profile.Default(), Ledger: led, Faults: fs})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); led.Close() })
	return h.Addr()
}

const recordedFaults = `faults:
  - {name: decline 66.60, match: {mti: "0200", amount: "66.60"}, action: respond, code: "51"}
  - {name: sale 77.70 never answered, match: {mti: "0200", amount: "77.70"}, action: drop}
`

func TestReplayCommand(t *testing.T) {
	t.Run("matches", func(t *testing.T) {
		code, out, errs := runMain("replay", sessionDir+"session.pcapng", "--host", faultHost(t, recordedFaults), "--fresh-keys", "--as-fast")
		if code != 0 || !strings.Contains(out, "19 match, 0 differ") {
			t.Fatalf("exit %d:\n%s%s", code, out, errs)
		}
	})
	t.Run("differs", func(t *testing.T) {
		// The host declines 12.34 this time.
		host := faultHost(t, recordedFaults+`  - {name: decline 12.34, match: {mti: "0200", amount: "12.34"}, action: respond, code: "05"}
`)
		code, out, errs := runMain("replay", "--json", sessionDir+"session-host.jsonl", "--host", host, "--fresh-keys", "--as-fast")
		if code != 1 || !strings.Contains(out, `"name":"Response Code","recorded":"00","got":"05"`) {
			t.Fatalf("exit %d, want 1 and field 39 differing:\n%s%s", code, out, errs)
		}
	})
	db := filepath.Join(t.TempDir(), "host.db")
	for _, args := range [][]string{
		{"host", "--db", db, "--playback", "no-such-file.jsonl"},
		{"host", "--db", db, "--match", "mti"},
		{"host", "--db", db, "--playback", sessionDir + "session-host.jsonl", "--match", "mti,colour"},
		{"host", "--db", db, "--playback", sessionDir + "session-host.jsonl", "--playback-miss", "996"},
		{"bridge", "--replay", sessionDir + "session-host.jsonl"},
		{"replay", sessionDir + "session.pcapng"},
		{"replay", "no-such-file.pcap", "--host", "127.0.0.1:1"},
		{"replay", sessionDir + "session.pcapng", "--host", "127.0.0.1:1", "--speed", "2", "--as-fast"},
		{"replay", sessionDir + "session.pcapng", "--host", "127.0.0.1:1", "--speed", "0"},
	} {
		if code, _, errs := runMain(args...); code != 2 {
			t.Errorf("possim %s: exit %d, want 2 (%s)", strings.Join(args, " "), code, errs)
		}
	}
}

// possim host --playback of the session answers a terminal as the field
// host did: 66.60 declined 51 with no fault programmed, 77.70 never
// answered, so the terminal times out and reverses it, and the reversal
// is answered 00 as recorded.
func TestHostPlayback(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	tracePath := filepath.Join(dir, "trace.jsonl")
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"host", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "host.db"),
			"--playback", sessionDir + "session-host.jsonl", "--trace", tracePath}, &Env{Stdout: pw, Stderr: &stderr, Getenv: os.Getenv})
		pw.Close()
	}()
	addr := hostListenLine(t, pr)
	state := filepath.Join(dir, "terminal.json")
	if code, _ := termCLI(t, addr, state, "signon"); code != 0 {
		t.Fatalf("sign-on against the playback: exit %d", code)
	}
	if code, out := termCLI(t, addr, state, "sale", "--amount", "66.60", "--card", "visa-credit", "--entry", "chip", "--pin", "1234"); code != 1 || !strings.Contains(out, "DECLINED 51") {
		t.Errorf("sale 66.60: exit %d, want the recorded decline 51:\n%s", code, out)
	}
	code, out := termCLI(t, addr, state, "sale", "--amount", "77.70", "--card", "visa-credit", "--entry", "chip", "--pin", "1234")
	if code != 1 || !strings.Contains(out, "SALE reversed") {
		t.Errorf("sale 77.70: exit %d, want the recorded silence and a reversal:\n%s", code, out)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("host did not stop")
	}
	b, err := os.ReadFile(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	tr := string(b)
	for _, w := range []string{`"mti":"0410","rc":"00"`, `playback of exchange 16 (line 31): drop: not sent`, `"mti":"0400","rc":"98"`} {
		if !strings.Contains(tr, w) {
			t.Errorf("host trace lacks %s:\n%s", w, tr)
		}
	}
}
