package harness

import (
	"context"
	"strings"
	"testing"
)

// TestExternalPOSNeedsControl: a lab whose POS is outside reaches the
// devices only through their control API, so it refuses to start without
// one rather than start with steps that cannot act.
func TestExternalPOSNeedsControl(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"virtual", Config{Dir: t.TempDir(), ExternalPOS: true}},
		{"no control", Config{Mode: External, DevicesDir: t.TempDir(), Dir: t.TempDir(), ExternalPOS: true}},
		{"no devices", Config{Mode: External, HostAddr: "127.0.0.1:1", ControlAddr: "127.0.0.1:1", ExternalPOS: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab, err := New(context.Background(), tc.cfg)
			if err == nil {
				lab.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), "an external POS needs external devices and their control API") {
				t.Errorf("error: %v", err)
			}
		})
	}
}
