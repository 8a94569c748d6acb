package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunWithControl is the two commands as a user types them: possim
// devices in one terminal, possim run --devices DIR --control ADDR in
// another; the token comes from POSSIM_TOKEN on both sides.
func TestRunWithControl(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	token := func(k string) string {
		if k == "POSSIM_TOKEN" {
			return "tok"
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	devOut := &lineWaiter{ready: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"devices", "--dir", dir, "--control", "127.0.0.1:0"}, &Env{Stdout: devOut, Stderr: &bytes.Buffer{}, Getenv: token})
	}()
	t.Cleanup(func() { cancel(); <-done })
	url := <-devOut.ready
	addr := strings.TrimPrefix(url, "http://")

	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"run", "../../features/transactions/wired.feature", "../../features/transactions/receipts.feature",
		"--devices", dir, "--control", addr, "--format", "progress", "--state", filepath.Join(t.TempDir(), "st.json")},
		&Env{Stdout: &out, Stderr: &errb, Getenv: token})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "7 scenarios passed") {
		t.Errorf("stderr: %s", errb.String())
	}

	// Without the token the API refuses, and the run says why.
	out.Reset()
	errb.Reset()
	code = Main(context.Background(), []string{"run", "../../features/transactions/card-sale.feature",
		"--devices", dir, "--control", addr, "--format", "progress"},
		&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != 1 || !strings.Contains(out.String(), "401 Unauthorized") {
		t.Errorf("without the token: exit %d\n%s", code, out.String())
	}
}

func TestRunControlNeedsDevices(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"run", "--control", "127.0.0.1:7070"}, &Env{Stdout: &out, Stderr: &errb})
	if code != 2 || !strings.Contains(errb.String(), "--control 127.0.0.1:7070: give --devices DIR as well") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}

// lineWaiter is possim devices' stdout: it hands over the API's URL from
// its last start-up line.
type lineWaiter struct {
	buf   bytes.Buffer
	ready chan string
	sent  bool
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if !w.sent {
		lines := strings.Split(w.buf.String(), "\n")
		for _, line := range lines[:len(lines)-1] { // whole lines only
			if url, ok := strings.CutPrefix(line, "possim devices control API on "); ok {
				w.ready <- strings.TrimSpace(url)
				w.sent = true
				break
			}
		}
	}
	return len(p), nil
}
