package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// dialectSession runs possim terminal --dialect d against possim host
// --dialect d through a capturing proxy: a chip sale of 1.00 and one of
// 2.50. It returns the pcapng capture.
func dialectSession(t *testing.T, dialect string) string {
	t.Helper()
	p := startPcapTap(t, startDialectHost(t, dialect, "faults: []\n"))
	state := filepath.Join(t.TempDir(), "term.json")
	for _, amount := range []string{"1.00", "2.50"} {
		code, out := termCLI(t, p.ln.Addr().String(), state, "--dialect", dialect,
			"sale", "--amount", amount, "--card", "visa-credit", "--entry", "chip", "--pin", "1234")
		if code != 0 || !strings.Contains(out, "SALE approved") {
			t.Fatalf("%s sale %s: exit %d\n%s", dialect, amount, code, out)
		}
	}
	return p.close(t)
}

// TestTraceShowDialect: a capture of a real cup session reads in cup,
// TPDU, application header and fields; read as possim87 it is not.
func TestTraceShowDialect(t *testing.T) {
	capture := dialectSession(t, "cup")
	code, out, errs := runMain("trace", "show", "--dialect", "cup", capture)
	if code != 0 {
		t.Fatalf("trace show --dialect cup: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		" in 0800 tpdu 6000030000 header 602200000000", " out 0810 tpdu 6000000003 header 602200000000",
		" in 0200 tpdu 6000030000", " out 0210 tpdu 6000000003",
		"2 Primary Account Number = 476173******0010", "4 Transaction Amount = 000000000100", "4 Transaction Amount = 000000000250",
		"39 Response Code = 00 (APPROVED)", "5 exchanges, 0 unanswered", "0 malformed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace show --dialect cup lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "4761739001010010") {
		t.Errorf("PAN in clear:\n%s", out)
	}
	_, out, _ = runMain("trace", "show", capture)
	if !strings.Contains(out, "MALFORMED") {
		t.Errorf("the cup capture read as possim87 decodes:\n%s", out)
	}
	if code, _, errs := runMain("trace", "show", "--dialect", "klingon", capture); code != 2 || !strings.Contains(errs, "cup") {
		t.Errorf("unknown dialect: exit %d, want 2 naming the dialects: %s", code, errs)
	}
}

// TestReplayDialect: a nac session replayed in nac against a fresh nac
// host answers as recorded; replayed in possim87 it cannot be sent.
func TestReplayDialect(t *testing.T) {
	capture := dialectSession(t, "nac")
	host := startDialectHost(t, "nac", "faults: []\n")
	code, out, errs := runMain("replay", capture, "--dialect", "nac", "--host", host, "--fresh-keys", "--as-fast")
	if code != 0 || !strings.Contains(out, "5 exchanges on 2 connections, 5 match, 0 differ") || !strings.Contains(out, "PIN block re-encrypted") {
		t.Fatalf("replay --dialect nac: exit %d, want 5 exchanges matching\n%s%s", code, out, errs)
	}
}

// TestHostPlaybackDialect: possim host --dialect cup --playback reads the
// cup capture in cup and answers a cup terminal as recorded.
func TestHostPlaybackDialect(t *testing.T) {
	capture := dialectSession(t, "cup")
	r := start(t, "host", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "host.db"),
		"--dialect", "cup", "--playback", capture, "--match", "mti,amount")
	addr, _ := r.waitLine(t, "possim host listening on ")
	state := filepath.Join(t.TempDir(), "term.json")
	code, out := termCLI(t, addr, state, "--dialect", "cup", "sale", "--amount", "2.50", "--card", "visa-credit", "--entry", "chip", "--pin", "1234")
	if code != 0 || !strings.Contains(out, "SALE approved") {
		t.Errorf("sale against the cup playback: exit %d\n%s", code, out)
	}
}

// TestProxyDialect: possim proxy --dialect cup rewrites the amount of a
// cup answer (TPDU and header kept), and the cup terminal sees the
// mismatch and reverses.
func TestProxyDialect(t *testing.T) {
	host := startDialectHost(t, "cup", "faults: []\n")
	dir := t.TempDir()
	trace := filepath.Join(dir, "proxy.jsonl")
	r, listen, api := startProxyCmd(t, host, "--dialect", "cup", "--trace", trace)
	p, err := toxiclient.NewClient(api).Proxy("possim")
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "term.json")
	if code, out := termCLI(t, listen, state, "--dialect", "cup", "signon"); code != 0 {
		t.Fatalf("signon: exit %d\n%s", code, out)
	}
	if _, err := p.AddToxic("amount", "iso_amount", "downstream", 1, toxiclient.Attributes{"mti": "0210", "amount": 1}); err != nil {
		t.Fatal(err)
	}
	code, out := termCLI(t, listen, state, "--dialect", "cup", "--json", "sale", "--amount", "9.00", "--card", "visa-credit", "--entry", "tap")
	if code != 1 || !strings.Contains(out, `"reason": "amount mismatch"`) || !strings.Contains(out, `"status": "reversed"`) {
		t.Errorf("amount toxic over cup: exit %d, want 1 with an amount mismatch and a reversal:\n%s", code, out)
	}
	if code, _ := r.stop(t); code != 0 {
		t.Errorf("proxy exit %d", code)
	}
	code, tr, errs := runMain("trace", "show", trace)
	if code != 0 || !strings.Contains(tr, " in 0400 ") || !strings.Contains(tr, " out 0410 ") || strings.Contains(tr, "MALFORMED") {
		t.Errorf("proxy trace over cup: exit %d, want the sale and its reversal decoded:\n%s%s", code, tr, errs)
	}
}

// TestLoadEchoDialect: possim load --echo --dialect nac runs against the
// in-process echo host speaking nac, every request answered.
func TestLoadEchoDialect(t *testing.T) {
	code, out, errs := runMain("load", "--echo", "--dialect", "nac", "--conns", "2", "--count", "40", "--json")
	var rep struct {
		Requests int64 `json:"requests"`
		Approved int64 `json:"approved"`
		Errors   int64 `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("load --echo --dialect nac: exit %d %v\n%s%s", code, err, out, errs)
	}
	if rep.Requests < 40 || rep.Approved != rep.Requests || rep.Errors != 0 {
		t.Errorf("load --echo over nac: %d requests, %d approved, %d errors\n%s", rep.Requests, rep.Approved, rep.Errors, out)
	}
}
