package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sessionCapture = "../../simulators/trace/testdata/session.pcapng"

func runTraceCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"trace"}, args...), &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func TestTraceShow(t *testing.T) {
	code, out, errs := runTraceCmd("show", sessionCapture, "--port", "18583")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"host port 18583 (--port)",
		"  2 Primary Account Number = 476173******0010",
		" 52 PIN Data = [8 bytes]",
		"  3 Processing Code = 020000 (void)",
		" 39 Response Code = 51 (INSUFFICIENT FUNDS)",
		" 22 Point of Service Entry Mode = 051 (chip, PIN)",
		" 70 Network Management Information Code = 001 (sign-on)",
		"0200 exchange 16 unanswered",
		"summary: 37 messages, 19 exchanges, 1 unanswered, 0 unsolicited, 1 reversals, 0 malformed, 0 recorded but not sent; response codes: 00 APPROVED x17, 51 INSUFFICIENT FUNDS x1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "4761739001010010") {
		t.Error("output shows the PAN in clear")
	}
}

func TestTraceShowJSON(t *testing.T) {
	code, out, errs := runTraceCmd("show", "--json", sessionCapture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 37 || !strings.Contains(errs, "summary: 37 messages") {
		t.Fatalf("%d lines, stderr %q; want 37 and the summary", len(lines), errs)
	}
	var m struct {
		N        int    `json:"n"`
		Time     string `json:"time"`
		MTI      string `json:"mti"`
		Exchange int    `json:"exchange"`
		Role     string `json:"role"`
		Fields   []struct {
			Num     int    `json:"num"`
			Name    string `json:"name"`
			Value   string `json:"value"`
			Meaning string `json:"meaning"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(lines[7]), &m); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339Nano, m.Time); err != nil || m.N != 8 || m.MTI != "0210" || m.Role != "response" || m.Exchange != 4 {
		t.Errorf("message 8: %+v (time: %v)", m, err)
	}
}

func TestTraceShowBadInput(t *testing.T) {
	dir := t.TempDir()
	capture, err := os.ReadFile(sessionCapture)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcapng")
	if err := os.WriteFile(cut, capture[:len(capture)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "x.bin")
	os.WriteFile(binary, []byte{0xff, 0xfe, 0, 1}, 0o600)
	tests := []struct {
		name string
		args []string
		out  string // in stdout
		errs string // in stderr
	}{
		{"truncated capture", []string{"show", cut}, "#1 ", "could not be read"},
		{"no such file", []string{"show", filepath.Join(dir, "none")}, "", "no such file"},
		{"not a trace", []string{"show", binary}, "", "unknown trace format"},
		{"no subcommand", nil, "", "missing subcommand"},
		{"bad port", []string{"show", cut, "--port", "70000"}, "", "want 1 to 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runTraceCmd(tt.args...)
			if code != 2 || !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.errs) {
				t.Errorf("exit %d, stdout %.200q, stderr %q; want 2, %q, %q", code, out, errs, tt.out, tt.errs)
			}
		})
	}
	_, _, errs := runTraceCmd("show", cut)
	if !strings.Contains(errs, "packet ") || !strings.Contains(errs, "capture ends inside this packet") {
		t.Errorf("truncated capture: %q; want the packet named", errs)
	}
}
