package scenarios

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/possim/possim/harness"
)

// startDevices is `possim devices --dir DIR --control 127.0.0.1:0`: the
// four devices on real ptys and their control API on a loopback port.
func startDevices(t *testing.T, token string) (*harness.Rack, string, string) {
	t.Helper()
	dir := t.TempDir()
	rack, err := harness.NewRack(harness.RackConfig{Dir: dir, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctl := harness.NewControl(harness.ControlConfig{Printer: rack.Printer, Reader: rack.Reader, PINPad: rack.PINPad,
		Scanner: rack.Scanner, Recorder: rack.Recorder, Profile: rack.Profile, Token: token})
	if err := ctl.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ctl.Close(); err != nil {
			t.Errorf("control close: %v", err)
		}
		if err := rack.Close(); err != nil {
			t.Errorf("rack close: %v", err)
		}
	})
	return rack, dir, ctl.Addr()
}

// TestRunAgainstSeparateDevices is possim run --devices DIR --control ADDR:
// the lab's terminal is the POS software on the ptys of a separate possim
// devices, and every device step acts and reads through its control API.
func TestRunAgainstSeparateDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ~45 scenarios in real time")
	}
	rack, dir, addr := startDevices(t, "t0ken")
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Paths: []string{"../features/transactions", "../features/problems/device-faults.feature",
			"../features/preparation/hardware-check.feature"},
		DevicesDir: dir, ControlAddr: addr, ControlToken: "t0ken", TimeScale: 0.05,
		Output: &out, Format: "progress", Seed: 1, TempDir: t.TempDir(), Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 0 || res.Failed() > 0 {
		t.Fatalf("%d of %d scenarios did not pass:\n%s", len(res.Scenarios)-res.Passed(), len(res.Scenarios), out.String())
	}
	if len(res.Scenarios) < 40 {
		t.Errorf("%d scenarios ran; want the transactions, device faults and hardware check ones", len(res.Scenarios))
	}
	// The customer really acted on the separate devices, and the
	// receipts came out of their printer.
	if n := len(rack.Recorder.Filter("cardreader", "insert")); n < 10 {
		t.Errorf("%d cards inserted through the control API; want every chip sale's", n)
	}
	if n := len(rack.Recorder.Filter("printer", "state")); n == 0 {
		t.Error("no printer fault reached the separate printer")
	}
	if n := len(rack.Printer.Receipts()); n < 20 {
		t.Errorf("the separate printer cut %d receipts; want every sale's", n)
	}
	// Each scenario's report holds its own receipts only.
	for _, s := range res.Scenarios {
		if len(s.Receipts) > 8 {
			t.Errorf("%s: %d receipts in its report; a scenario's own are a few", s.Name, len(s.Receipts))
		}
	}
}

// TestRunControlUnreachable: the ptys are there but nothing listens at the
// control address; the scenario fails saying where and what to start.
func TestRunControlUnreachable(t *testing.T) {
	_, dir, _ := startDevices(t, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Paths: []string{"../features/transactions/card-sale.feature"},
		DevicesDir: dir, ControlAddr: addr, TimeScale: 0.05, Output: &out, Format: "progress", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := "control API at " + addr + ": connection refused — start possim devices --control " + addr
	if res.Status == 0 || len(res.Scenarios) == 0 {
		t.Fatalf("the run passed without its control API:\n%s", out.String())
	}
	for _, s := range res.Scenarios {
		if s.Status != "failed" || !strings.Contains(s.Error, want) {
			t.Errorf("%s: %s %q; want failed with %q", s.Name, s.Status, s.Error, want)
		}
	}
}

// TestDeviceStepWithoutControl: external devices without --control; a
// device step says what is missing instead of failing on a nil device.
func TestDeviceStepWithoutControl(t *testing.T) {
	_, dir, _ := startDevices(t, "")
	feature := filepath.Join(t.TempDir(), "x.feature")
	text := "Feature: x\n  Scenario: a device step\n    Given a lab with the default profile\n    When the printer runs out of paper\n"
	if err := os.WriteFile(feature, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Paths: []string{feature}, DevicesDir: dir, TimeScale: 0.05,
		Output: &out, Format: "progress", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 1 || !strings.Contains(res.Scenarios[0].Error, "add --control ADDR") {
		t.Errorf("scenarios %+v; want the step to ask for --control\n%s", res.Scenarios, out.String())
	}
}
