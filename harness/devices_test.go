package harness

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/serial"
)

// newTestRack starts a rack on real ptys in a temporary directory.
func newTestRack(t *testing.T) (*Rack, string) {
	t.Helper()
	dir := t.TempDir()
	rack, err := NewRack(RackConfig{Dir: dir, Logger: rackTestLogger(t), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rack.Close(); err != nil {
			t.Errorf("rack close: %v", err)
		}
	})
	return rack, dir
}

// TestRackPrintsThroughPTY plays a POS application: it opens DIR/printer as
// a serial port and prints; the receipt lands in DIR/receipts and on the
// timeline.
func TestRackPrintsThroughPTY(t *testing.T) {
	rack, dir := newTestRack(t)
	paths := rack.Paths()
	for _, name := range DeviceNames {
		if got, want := paths[name], filepath.Join(dir, name); got != want {
			t.Errorf("path of %s = %q, want %q", name, got, want)
		}
		if _, err := os.Stat(paths[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	port, err := serial.OpenRaw(paths["printer"])
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	receipt := printer.NewBuilder(printer.ASCII).Init().Align(printer.Center).Line("DEMO MART").Line("TOTAL 3.50").Cut().Bytes()
	if err := printer.NewDriver(port).Print(t.Context(), receipt); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(dir, "receipts", "0001.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "DEMO MART") {
		t.Errorf("receipt file:\n%s", text)
	}
	if got := rack.Recorder.Filter("printer", printer.EventReceipt); len(got) != 1 {
		t.Errorf("receipt events: %v", got)
	}
}

func TestRackNeedsDir(t *testing.T) {
	if _, err := NewRack(RackConfig{}); err == nil {
		t.Fatal("NewRack with no Dir succeeded")
	}
}

// rackTestLogger routes device logs to the test output, shown on failure.
func rackTestLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
