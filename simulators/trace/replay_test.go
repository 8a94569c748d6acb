package trace

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

// sessionFaults are the faults the testdata session was recorded with
// (scripts/trace-testdata.sh): a decline of 66.60 and a sale of 77.70
// the host never answers.
const sessionFaults = `faults:
  - name: decline 66.60
    match: {mti: "0200", amount: "66.60"}
    action: respond
    code: "51"
  - name: sale 77.70 never answered
    match: {mti: "0200", amount: "77.70"}
    action: drop
`

// startHost runs a possim host on loopback with a ledger in a temp dir
// and the given faults file; mod adjusts the config.
func startHost(t *testing.T, faults string, mod func(*acquirer.Config)) *acquirer.Host {
	t.Helper()
	led, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "host.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	cfg := acquirer.Config{Profile: profile.Default(), Ledger: led}
	if faults != "" {
		fs, err := acquirer.ParseFaults([]byte(faults), "faults.yaml")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Faults = fs
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := acquirer.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestReplaySessionMatches(t *testing.T) {
	for _, file := range []string{"session.pcapng", "session.hex", "session-host.jsonl"} {
		t.Run(file, func(t *testing.T) {
			h := startHost(t, sessionFaults, nil)
			tr := readFile(t, filepath.Join("testdata", file), Options{})
			res, err := Replay(context.Background(), tr, ReplayOptions{Addr: h.Addr(), FreshKeys: true})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := WriteReplayText(&out, res); err != nil {
				t.Fatal(err)
			}
			if !res.Matched() || len(res.Exchanges) != 19 {
				t.Fatalf("replay of %s: want 19 matching exchanges:\n%s", file, out.String())
			}
			text := out.String()
			want := map[string][]string{
				"session.pcapng":     {"replay: 19 exchanges on 9 connections", "PIN block re-encrypted from the recorded session key (kcv B3D813)"},
				"session.hex":        {"replay: 19 exchanges on 1 connections", "PIN block re-encrypted"},
				"session-host.jsonl": {"masked PAN 476173******0010 mapped to the profile's card visa-credit", "test PIN of card visa-credit sent under the new session key"},
			}[file]
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("replay output lacks %q:\n%s", w, text)
				}
			}
			if !strings.Contains(text, "differ as always (not failed): 37, 38") {
				t.Errorf("fields 37 and 38 are not listed as differing as always:\n%s", text)
			}
		})
	}
}

// Without --fresh-keys the capture's PIN blocks still go under the new
// session key, and the void still names the sale by its new RRN.
func TestReplayKeepsReferences(t *testing.T) {
	h := startHost(t, sessionFaults, nil)
	tr := readFile(t, filepath.Join("testdata", "session.pcapng"), Options{})
	res, err := Replay(context.Background(), tr, ReplayOptions{Addr: h.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Matched() {
		var out bytes.Buffer
		WriteReplayText(&out, res)
		t.Fatalf("replay differs:\n%s", out.String())
	}
}

// A host that behaves otherwise than the recorded one (no decline of
// 66.60, and an amount mismatch on 12.34) shows field differences with
// their names.
func TestReplayShowsDifferences(t *testing.T) {
	h := startHost(t, `faults:
  - name: sale 77.70 never answered
    match: {mti: "0200", amount: "77.70"}
    action: drop
  - name: wrong amount
    match: {mti: "0200", amount: "12.34"}
    action: amount
    amount: "10.00"
`, nil)
	tr := readFile(t, filepath.Join("testdata", "session.pcapng"), Options{})
	res, err := Replay(context.Background(), tr, ReplayOptions{Addr: h.Addr(), FreshKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	WriteReplayText(&out, res)
	text := out.String()
	if res.Matched() {
		t.Fatalf("replay against a different host matched:\n%s", text)
	}
	for _, w := range []string{
		"39 Response Code: recorded 51, got 00",
		"4 Transaction Amount: recorded 000000001234, got 000000001000",
		"16 match, 3 differ",
		"39 Response Code: recorded 00, got 95",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
}
