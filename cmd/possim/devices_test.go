package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/virtualdevices/bridge"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/serial"
)

// running is a subcommand run by Main in a goroutine, as a user runs it.
type running struct {
	cancel context.CancelFunc
	done   chan int
	stdout *bufio.Reader
	rest   chan string // stdout after the lines read, once Main returned
	stderr bytes.Buffer
}

func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &running{cancel: cancel, done: make(chan int, 1), stdout: bufio.NewReader(pr), rest: make(chan string, 1)}
	go func() {
		r.done <- Main(ctx, args, &Env{Stdout: pw, Stderr: &r.stderr, Getenv: func(string) string { return "" }})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// waitLine reads stdout until a line with prefix and returns the rest of
// that line; the lines before it are returned too.
func (r *running) waitLine(t *testing.T, prefix string) (string, []string) {
	t.Helper()
	var before []string
	for {
		line, err := r.stdout.ReadString('\n')
		if err != nil {
			t.Fatalf("no %q line on stdout (%v); stderr:\n%s", prefix, err, r.stderr.String())
		}
		line = strings.TrimSuffix(line, "\n")
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			go func() {
				b, _ := io.ReadAll(r.stdout)
				r.rest <- string(b)
			}()
			return rest, before
		}
		before = append(before, line)
	}
}

// stop cancels the command as SIGINT does and returns its exit code and
// the rest of its stdout.
func (r *running) stop(t *testing.T) (int, string) {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code // for the cleanup
		return code, <-r.rest
	case <-time.After(20 * time.Second): // a hang, not a timing assertion
		t.Fatal("command did not stop after cancel")
		return 0, ""
	}
}

// TestDevicesCommand plays a POS application against `possim devices`: it
// prints a receipt on DIR/printer and finds it in DIR/receipts and on the
// control API.
func TestDevicesCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run") // created: its parent exists
	r := start(t, "devices", "--dir", dir, "--control", "127.0.0.1:0", "--seed", "7")
	url, lines := r.waitLine(t, "possim devices control API on ")
	listing := strings.Join(lines, "\n")
	for _, name := range []string{"cardreader", "pinpad", "printer", "scanner"} {
		if !strings.Contains(listing, filepath.Join(dir, name)) {
			t.Errorf("no path for %s in:\n%s", name, listing)
		}
	}
	for _, want := range []string{"dashboard    " + url + "/", "try          curl -X POST -d '{\"card\":\"visa-credit\"}' " + url + "/api/cardreader/insert"} {
		if !strings.Contains(listing, want) {
			t.Errorf("no %q in:\n%s", want, listing)
		}
	}

	port, err := serial.OpenRaw(filepath.Join(dir, "printer"))
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	receipt := printer.NewBuilder(printer.ASCII).Init().Align(printer.Center).Bold(true).Line("DEMO MART").Bold(false).
		Align(printer.Left).Line("green tea            3.50").Line("CARD 476173******0010").Cut().Bytes()
	if err := printer.NewDriver(port).Print(t.Context(), receipt); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(dir, "receipts", "0001.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(file), "green tea") {
		t.Errorf("0001.txt:\n%s", file)
	}
	resp, err := http.Get(url + "/api/printer/receipts")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "receipt 0001") || !strings.Contains(string(body), "green tea") {
		t.Errorf("GET /api/printer/receipts: %d\n%s", resp.StatusCode, body)
	}

	code, rest := r.stop(t)
	if code != 0 || !strings.Contains(rest, "possim devices stopped") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, rest, r.stderr.String())
	}
	if _, err := os.Lstat(filepath.Join(dir, "printer")); !os.IsNotExist(err) {
		t.Errorf("printer link left behind: %v", err)
	}
}

// readFull reads n bytes or fails the test after a generous bound (a hang
// guard, not a timing assertion).
func readFull(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		ch <- result{b, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatal(res.err)
		}
		return res.b
	case <-time.After(20 * time.Second):
		t.Fatalf("no %d bytes", n)
		return nil
	}
}

// TestBridgeCommand bridges a stand-in device (a pty we hold the master
// of) to a pty for the POS, corrupts a byte through the control API and
// checks the recording.
func TestBridgeCommand(t *testing.T) {
	dir := t.TempDir()
	devPTY, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(dir, "device")})
	if err != nil {
		t.Fatal(err)
	}
	defer devPTY.Close()
	record := filepath.Join(dir, "bridge.jsonl")
	r := start(t, "bridge", "--device", devPTY.Path(), "--pty", filepath.Join(dir, "pos"),
		"--record", record, "--control", "127.0.0.1:0", "--fault", "drop,dir=dev->pos,count=1")
	url, _ := r.waitLine(t, "possim bridge control API on ")

	pos, err := serial.OpenRaw(filepath.Join(dir, "pos"))
	if err != nil {
		t.Fatal(err)
	}
	defer pos.Close()
	if _, err := pos.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, devPTY, 4); string(got) != "ping" {
		t.Errorf("device read %q", got)
	}
	// The start-up fault drops the first device chunk.
	devPTY.Write([]byte("lost"))
	waitRecord(t, record, func(rec bridge.Record) bool { return rec.Fault == "drop" })
	resp, err := http.Post(url+"/api/bridge/fault", "application/json",
		strings.NewReader(`{"kind":"corrupt","dir":"dev->pos","count":1,"offset":0}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /api/bridge/fault: %d", resp.StatusCode)
	}
	devPTY.Write([]byte("pong"))
	if got := readFull(t, pos, 4); string(got) != "\x8fong" {
		t.Errorf("POS read %q, want the first byte of pong flipped", got)
	}

	if code, rest := r.stop(t); code != 0 || !strings.Contains(rest, "possim bridge stopped") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, rest, r.stderr.String())
	}
	recs := readRecords(t, record)
	var dirs []string
	for _, rec := range recs {
		if rec.Hex != "" {
			dirs = append(dirs, string(rec.Dir)+" "+rec.Fault)
		}
	}
	want := []string{"pos->dev ", "dev->pos drop", "dev->pos corrupt"}
	if strings.Join(dirs, "|") != strings.Join(want, "|") {
		t.Errorf("recorded chunks %q, want %q", dirs, want)
	}
}

func readRecords(t *testing.T, path string) []bridge.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := bridge.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// waitRecord waits until the recording has a line that ok accepts; the
// bridge writes it after forwarding, so it is the only sign of a drop.
func waitRecord(t *testing.T, path string, ok func(bridge.Record) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, rec := range readRecords(t, path) {
			if ok(rec) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("record never appeared")
}

func TestDevicesAndBridgeUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"devices"}, "--dir DIR is required"},
		{[]string{"devices", "--dir", dir, "--control", "0.0.0.0:0"}, "non-loopback"},
		{[]string{"devices", "--dir", dir, "extra"}, "unexpected argument"},
		{[]string{"devices", "--dir", dir, "--max-events", "0"}, "--max-events 0: must be at least 1"},
		{[]string{"devices", "--dir", filepath.Join(dir, "no", "run")}, "directory " + filepath.Join(dir, "no") + " does not exist"},
		{[]string{"devices", "--dir", filepath.Join(dir, "file", "run")}, "is not a directory"},
		{[]string{"devices", "--dir", filepath.Join(dir, "file")}, "is a file"},
		{[]string{"bridge", "--pty", "x"}, "--device PATH and --port NAME"},
		{[]string{"bridge", "--device", "/dev/null"}, "--pty LINK and --tcp ADDR"},
		{[]string{"bridge", "--device", "/dev/null", "--pty", "a", "--fault", "melt"}, "unknown bridge fault"},
		{[]string{"bridge", "--device", filepath.Join(dir, "none"), "--pty", filepath.Join(dir, "a")}, "opening the device"},
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Cancelled: a command that wrongly accepts its flags returns at once
	// instead of running until the test times out.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := Main(ctx, tt.args, &Env{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }})
		if code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
	// A refused --dir leaves nothing behind.
	if _, err := os.Stat(filepath.Join(dir, "no")); !os.IsNotExist(err) {
		t.Errorf("--dir with a missing parent created it: %v", err)
	}
}

func TestParseBridgeFault(t *testing.T) {
	tests := []struct {
		spec string
		want bridge.Fault
		err  bool
	}{
		{"drop", bridge.Fault{Kind: bridge.Drop}, false},
		{"delay,dir=dev->pos,delay=300ms", bridge.Fault{Kind: bridge.Delay, Dir: bridge.DevToPOS, Delay: 300 * time.Millisecond}, false},
		{"corrupt,dir=pos->dev,count=1,offset=-1", bridge.Fault{Kind: bridge.Corrupt, Dir: bridge.POSToDev, Count: 1, Offset: -1}, false},
		{"disconnect", bridge.Fault{Kind: bridge.Disconnect}, false},
		{"delay", bridge.Fault{}, true},
		{"drop,dir=up", bridge.Fault{}, true},
		{"drop,count=-2", bridge.Fault{}, true},
		{"drop,count", bridge.Fault{}, true},
		{"drop,speed=3", bridge.Fault{}, true},
		{"", bridge.Fault{}, true},
	}
	for _, tt := range tests {
		got, err := parseBridgeFault(tt.spec)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseBridgeFault(%q) = %+v, %v", tt.spec, got, err)
		}
	}
}

// FuzzParseBridgeFault checks that any --fault spec is parsed or refused
// with an error, and that what parses is a valid fault.
func FuzzParseBridgeFault(f *testing.F) {
	for _, s := range []string{"drop", "delay,dir=dev->pos,delay=300ms", "corrupt,dir=pos->dev,count=1,offset=-1", "disconnect,count=0", "drop,,", "x=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fault, err := parseBridgeFault(spec)
		if err != nil {
			return
		}
		if fault.Count < 0 || (fault.Kind == bridge.Delay && fault.Delay <= 0) {
			t.Errorf("parseBridgeFault(%q) = %+v", spec, fault)
		}
	})
}
