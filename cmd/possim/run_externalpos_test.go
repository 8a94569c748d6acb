package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestRunExternalPOS is the three programs of an outside-POS run as a user
// starts them: possim devices with its control API, POS software on its
// ptys (possim terminal --devices, waiting for the card of a 12.34 sale
// against possim host), and possim run --pos external as the customer.
func TestRunExternalPOS(t *testing.T) {
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	// The acquirer host, with its own ledger.
	pr, pw := io.Pipe()
	var hostErr bytes.Buffer
	hostDone := make(chan int, 1)
	go func() {
		hostDone <- Main(ctx, []string{"host", "--listen", "127.0.0.1:0", "--db", filepath.Join(tmp, "host.db")},
			&Env{Stdout: pw, Stderr: &hostErr, Getenv: os.Getenv})
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-hostDone })
	hostAddr := hostListenLine(t, pr)

	// The devices and their control API.
	dir := filepath.Join(tmp, "devices")
	devOut := &lineWaiter{ready: make(chan string, 1)}
	devDone := make(chan int, 1)
	go func() {
		devDone <- Main(ctx, []string{"devices", "--dir", dir, "--control", "127.0.0.1:0"},
			&Env{Stdout: devOut, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() { cancel(); <-devDone })
	control := strings.TrimPrefix(<-devOut.ready, "http://")

	// The POS software: a sale that waits for the customer's card.
	var posOut, posErr syncBuffer
	posDone := make(chan int, 1)
	go func() {
		posDone <- Main(ctx, []string{"terminal", "--host", hostAddr, "--devices", dir, "--state", filepath.Join(tmp, "pos.json"),
			"sale", "--amount", "12.34"}, &Env{Stdout: &posOut, Stderr: &posErr, Getenv: func(string) string { return "" }})
	}()

	// The customer.
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"run", "../../features/external-pos", "--devices", dir, "--control", control,
		"--pos", "external", "--format", "progress"}, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Errorf("possim run --pos external: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "1 scenarios passed") {
		t.Errorf("possim run --pos external, stderr: %s", errb.String())
	}
	code = <-posDone
	if code != 0 || !strings.Contains(posOut.String(), "SALE approved") || !strings.Contains(posOut.String(), "RESULT:                           APPROVED") {
		t.Errorf("POS software: exit %d\n%s\n%s", code, posOut.String(), posErr.String())
	}
}

// TestRunExternalPOSRefusesLabSteps: with the POS outside, a step that
// drives the lab's terminal fails and says why, and a normal run leaves
// the @external-pos scenarios out.
func TestRunExternalPOSRefusesLabSteps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "devices")
	ctx, cancel := context.WithCancel(context.Background())
	devOut := &lineWaiter{ready: make(chan string, 1)}
	devDone := make(chan int, 1)
	go func() {
		devDone <- Main(ctx, []string{"devices", "--dir", dir, "--control", "127.0.0.1:0"},
			&Env{Stdout: devOut, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() { cancel(); <-devDone })
	control := strings.TrimPrefix(<-devOut.ready, "http://")

	feature := filepath.Join(t.TempDir(), "lab.feature")
	os.WriteFile(feature, []byte(`@external-pos
Feature: x
  Scenario: a step of the lab's terminal
    Given a lab with the default profile
    When the cashier keys in an amount of 10.00
`), 0o644)
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"run", feature, "--devices", dir, "--control", control, "--pos", "external", "--format", "progress"},
		&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != 1 || !strings.Contains(out.String(), "this step drives the lab's terminal; with --pos external the POS software is outside possim run") {
		t.Errorf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}

	out.Reset()
	errb.Reset()
	code = Main(context.Background(), []string{"run", feature, "--format", "progress"}, &Env{Stdout: &out, Stderr: &errb})
	if code != 1 || !strings.Contains(errb.String(), "no scenario in") {
		t.Errorf("a normal run of an @external-pos feature: exit %d\n%s\n%s", code, out.String(), errb.String())
	}

	out.Reset()
	errb.Reset()
	code = Main(context.Background(), []string{"run", feature, "--tags", "@external-pos", "--format", "progress"}, &Env{Stdout: &out, Stderr: &errb})
	if code != 1 || !strings.Contains(errb.String(), "@external-pos scenarios run only with --pos external") {
		t.Errorf("--tags @external-pos without --pos external: exit %d\n%s", code, errb.String())
	}

	code = Main(context.Background(), []string{"run", feature, "--pos", "external"}, &Env{Stdout: &out, Stderr: &errb})
	if code != 2 || !strings.Contains(errb.String(), "--pos external: give --devices DIR and --control ADDR") {
		t.Errorf("--pos external alone: exit %d\n%s", code, errb.String())
	}
}

// syncBuffer is a bytes.Buffer written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
