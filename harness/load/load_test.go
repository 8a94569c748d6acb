package load

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunAgainstEcho(t *testing.T) {
	e, err := StartEcho("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep, err := Run(context.Background(), Config{Addr: e.Addr(), Conns: 4, Count: 2000, Seed: 7,
		Mix: Mix{Sale: 8, QR: 1, Void: 1, Reversal: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 2000 || rep.Approved != 2000 || rep.Errors != 0 {
		t.Fatalf("report %+v; want 2000 requests, all approved by the echo host", rep)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.Max < rep.Latency.P99 || rep.Latency.P99 < rep.Latency.P50 {
		t.Errorf("latency percentiles out of order: %+v", rep.Latency)
	}
	var b strings.Builder
	rep.WriteText(&b)
	if !strings.Contains(b.String(), "approved   2000") {
		t.Errorf("text report:\n%s", b.String())
	}
}

func TestOpenLoopPacesRequests(t *testing.T) {
	e, err := StartEcho("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// 200/s for 300 ms is about 60 requests; closed loop would send thousands.
	rep, err := Run(context.Background(), Config{Addr: e.Addr(), Conns: 2, Duration: 300 * time.Millisecond, Rate: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests < 20 || rep.Requests > 120 {
		t.Errorf("open loop at 200/s for 0.3 s sent %d requests", rep.Requests)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Run(context.Background(), Config{Addr: "127.0.0.1:1", Conns: 2000, Count: 1}); err == nil || !strings.Contains(err.Error(), "load terminals") {
		t.Errorf("2000 conns: err = %v; want the load-terminal limit named", err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "mix.yaml")
	os.WriteFile(bad, []byte("sale: 5\nrefundz: 1\n"), 0o644)
	if _, err := LoadMix(bad); err == nil || !strings.Contains(err.Error(), "refundz") {
		t.Errorf("LoadMix = %v; want the unknown kind named", err)
	}
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("sale: 5\nvoid: 1\n"), 0o644)
	if m, err := LoadMix(good); err != nil || m[Sale] != 5 || m[Void] != 1 {
		t.Errorf("LoadMix = %v, %v", m, err)
	}
}

func TestWindows(t *testing.T) {
	e, err := StartEcho("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep, err := Run(context.Background(), Config{Addr: e.Addr(), Conns: 2, Duration: 250 * time.Millisecond, Rate: 400, Seed: 1, Window: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Windows) < 2 {
		t.Fatalf("%d windows in a 250 ms run of 100 ms windows", len(rep.Windows))
	}
	n := 0
	for i, w := range rep.Windows {
		n += w.Requests
		if w.Start != (time.Duration(i) * 100 * time.Millisecond).Seconds() {
			t.Errorf("window %d starts at %v s", i, w.Start)
		}
	}
	if int64(n) != rep.Requests {
		t.Errorf("windows hold %d requests, the run %d", n, rep.Requests)
	}
}
