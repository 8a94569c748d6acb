package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// startProxyCmd runs possim proxy in front of upstream and returns the
// running command, the proxy's listen address and the API address.
func startProxyCmd(t *testing.T, upstream string, extra ...string) (*running, string, string) {
	t.Helper()
	args := append([]string{"proxy", "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--upstream", upstream}, extra...)
	r := start(t, args...)
	api, before := r.waitLine(t, "possim proxy API on ")
	for _, line := range before {
		if rest, ok := strings.CutPrefix(line, "possim proxy possim: "); ok {
			listen, _, _ := strings.Cut(rest, " -> ")
			return r, listen, api
		}
	}
	t.Fatalf("no proxy line before the API line: %q", before)
	return nil, "", ""
}

// TestProxyCommandLatency: Toxiproxy's own Go client adds a latency toxic
// to the proxy possim proxy made at start, and an echo through it takes
// at least that long.
func TestProxyCommandLatency(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	r, listen, api := startProxyCmd(t, ln.Addr().String())
	p, err := toxiclient.NewClient(api).Proxy("possim")
	if err != nil {
		t.Fatal(err)
	}
	const latency = 200
	if _, err := p.AddToxic("", "latency", "upstream", 1, toxiclient.Attributes{"latency": latency}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("ping")
	begin := time.Now()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, %v", got, err)
	}
	if took := time.Since(begin); took < latency*time.Millisecond {
		t.Errorf("round trip %v, below the toxic's %dms", took, latency)
	}
	if code, rest := r.stop(t); code != 0 || !strings.Contains(rest, "possim proxy stopped") {
		t.Errorf("exit %d, stdout %q", code, rest)
	}
}

// TestProxyCommandISOToxics puts possim proxy between possim terminal and
// the host: an answer with another amount is refused and reversed, a
// dropped answer is timed out and reversed, and the trace holds it all
// with the PAN masked.
func TestProxyCommandISOToxics(t *testing.T) {
	host := termHost(t)
	dir := t.TempDir()
	trace := filepath.Join(dir, "proxy.jsonl")
	r, listen, api := startProxyCmd(t, host, "--trace", trace)
	p, err := toxiclient.NewClient(api).Proxy("possim")
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "term.json")
	if code, out := termCLI(t, listen, state, "signon"); code != 0 {
		t.Fatalf("signon: exit %d\n%s", code, out)
	}

	if _, err := p.AddToxic("amount", "iso_amount", "downstream", 1, toxiclient.Attributes{"mti": "0210", "amount": 1}); err != nil {
		t.Fatal(err)
	}
	code, out := termCLI(t, listen, state, "--json", "sale", "--amount", "9.00", "--card", "visa-credit", "--entry", "tap")
	if code != 1 || !strings.Contains(out, `"status": "reversed"`) || !strings.Contains(out, `"reason": "amount mismatch"`) {
		t.Errorf("amount toxic: exit %d, want 1 with an amount mismatch and a reversal:\n%s", code, out)
	}
	if err := p.RemoveToxic("amount"); err != nil {
		t.Fatal(err)
	}

	if _, err := p.AddToxic("drop", "iso_drop", "downstream", 1, toxiclient.Attributes{"mti": "0210"}); err != nil {
		t.Fatal(err)
	}
	code, out = termCLI(t, listen, state, "--json", "sale", "--amount", "7.00", "--card", "visa-credit", "--entry", "tap")
	if code != 1 || !strings.Contains(out, `"status": "reversed"`) || !strings.Contains(out, `"reason": "no response from host"`) {
		t.Errorf("drop toxic: exit %d, want 1 with a reversal:\n%s", code, out)
	}
	if code, _ := r.stop(t); code != 0 {
		t.Errorf("proxy exit %d", code)
	}

	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	tr := string(b)
	if strings.Contains(tr, "4761739001010010") || !strings.Contains(tr, "476173******0010") {
		t.Errorf("trace: PAN not masked or missing:\n%s", tr)
	}
	if !strings.Contains(tr, `"dir":"in","mti":"0400"`) || !strings.Contains(tr, `"dir":"out","mti":"0410"`) {
		t.Errorf("trace: no reversal and its answer:\n%s", tr)
	}
}

func TestProxyBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"proxy", "--listen", "127.0.0.1:0"},
		{"proxy", "--upstream", "127.0.0.1:1"},
		{"proxy", "--api", "not-an-address"},
		{"proxy", "--api", "127.0.0.1:0", "extra"},
		{"proxy", "--api", "127.0.0.1:0", "--listen", "nowhere", "--upstream", "127.0.0.1:1"},
		{"proxy", "--api", "127.0.0.1:0", "--trace", filepath.Join(t.TempDir(), "no", "dir", "t.jsonl")},
	} {
		if code, _, stderr := runMain(args...); code != 2 || !strings.HasPrefix(stderr, "possim proxy: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2", args, code, stderr)
		}
	}
}
