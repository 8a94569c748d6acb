package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/possim/possim/simulators/terminal"
)

// The README's commands, as written, in a fresh directory: possim host
// --listen ... --db host.db, then a chip sale from a terminal that has never
// run (default state file, no sign-on yet).
func TestTerminalCLIReadmeSale(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var hostErr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"host", "--listen", "127.0.0.1:0", "--db", "host.db"}, &Env{Stdout: pw, Stderr: &hostErr, Getenv: func(string) string { return "" }})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("host exit %d\n%s", code, hostErr.String())
		}
	})
	addr := hostListenLine(t, pr)

	readme := func() (int, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), []string{"terminal", "--host", addr, "sale", "--amount", "12.34", "--card", "visa-credit", "--entry", "chip", "--pin", "1234"},
			&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		return code, out.String() + errb.String()
	}
	code, out := readme()
	if code != 0 || !strings.Contains(out, "SALE approved: CNY 12.34") || !strings.Contains(out, "note: signed on to") {
		t.Fatalf("README sale on a fresh terminal: exit %d\n%s", code, out)
	}
	// The card counts on across runs: a second run is a new cryptogram.
	if code, out := readme(); code != 0 || !strings.Contains(out, "SALE approved: CNY 12.34") {
		t.Fatalf("second README sale: exit %d\n%s", code, out)
	}
	var saved terminal.Saved
	if b, err := os.ReadFile("possim-terminal.json"); err != nil || json.Unmarshal(b, &saved) != nil {
		t.Fatalf("state file not at its default place: %v", err)
	}
	if got := saved.CardATC["visa-credit"]; got != 2 {
		t.Errorf("visa-credit ATC in the state file %d, want 2", got)
	}

	// Starting the terminal over against the same host: its STANs repeat,
	// the host answers 94, and the CLI says why.
	if err := os.Remove("possim-terminal.json"); err != nil {
		t.Fatal(err)
	}
	code, out = readme()
	if code != 1 || !strings.Contains(out, "DUPLICATE") || !strings.Contains(out, "hint: the host already journaled this STAN") {
		t.Errorf("fresh state against a used host: exit %d\n%s", code, out)
	}
}

// A replayed cryptogram (the card's counter started again) is declined 63
// and the CLI says why.
func TestTerminalCLIReplayHint(t *testing.T) {
	host := termHost(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	if code, out := termCLI(t, host, a, "sale", "--amount", "3", "--card", "visa-credit", "--pin", "1234"); code != 0 {
		t.Fatalf("first sale: exit %d\n%s", code, out)
	}
	// Another state file on the same TID: STANs from 1 again, but an
	// echo and a sign-on more move it past the first file's sale; the card
	// counts from 1 again.
	if code, out := termCLI(t, host, b, "signon"); code != 0 {
		t.Fatalf("signon: exit %d\n%s", code, out)
	}
	code, out := termCLI(t, host, b, "sale", "--amount", "3", "--card", "visa-credit", "--pin", "1234")
	if code != 1 || !strings.Contains(out, "SECURITY VIOLATION") || !strings.Contains(out, "hint: the host has accepted a later cryptogram of card visa-credit") {
		t.Fatalf("replayed counter: exit %d\n%s", code, out)
	}
}

// A completion shows its own references: the RRN and the authorisation code.
func TestTerminalCLICompletionShowsRRN(t *testing.T) {
	host := termHost(t)
	state := filepath.Join(t.TempDir(), "term.json")
	code, out := termCLI(t, host, state, "preauth", "--amount", "200", "--card", "visa-credit", "--pin", "1234")
	m := regexp.MustCompile(`PREAUTH approved: .*STAN (\d{6})`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("preauth: exit %d\n%s", code, out)
	}
	code, out = termCLI(t, host, state, "completion", "--stan", m[1], "--amount", "150")
	if code != 0 || !regexp.MustCompile(`COMPLETION approved: CNY 150.00  STAN \d{6}  AUTH \w{6}  RRN \d{12}`).MatchString(out) {
		t.Fatalf("completion without its RRN and auth code: exit %d\n%s", code, out)
	}
}

// syncWriter is a buffer written by the CLI and read by the test.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
	on func(string)
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.b.Write(p)
	s := w.b.String()
	w.mu.Unlock()
	if w.on != nil {
		w.on(s)
	}
	return len(p), nil
}

func (w *syncWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// On devices, the CLI says what it waits for and where; interrupted, it
// prints a whole result line.
func TestTerminalCLIDevicesWaitAndInterrupt(t *testing.T) {
	host := termHost(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "term.json")
	devicePTYs(t, dir)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errw := &syncWriter{on: func(s string) {
		if strings.Contains(s, "waiting: ") {
			cancel() // Ctrl-C
		}
	}}
	code := Main(ctx, []string{"terminal", "--host", host, "--state", state, "--devices", dir, "sale", "--amount", "10"},
		&Env{Stdout: &out, Stderr: errw, Getenv: func(string) string { return "" }})
	want := "waiting: CNY 10.00  INSERT, TAP OR SWIPE CARD on " + filepath.Join(dir, "cardreader")
	if !strings.Contains(errw.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errw.String())
	}
	if code != 1 || !strings.Contains(out.String(), "SALE failed: CNY 10.00  (nothing sent to the host)") || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("interrupted sale: exit %d\n%s", code, out.String())
	}
}

// After a while with nothing presented, the CLI says how to act.
func TestTerminalWaitHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w syncWriter
		n := &waitNotices{w: &w, dir: "run", after: 5 * time.Second}
		defer n.stop()
		n.event(terminal.Event{Kind: terminal.EventState, State: terminal.StateWaitPIN})
		n.event(terminal.Event{Kind: terminal.EventDisplay, State: terminal.StateWaitPIN, Text: "ENTER PIN ON PIN PAD"})
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if strings.Contains(w.String(), "still waiting") {
			t.Fatalf("hint before its time:\n%s", w.String())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := w.String()
		for _, want := range []string{"waiting: ENTER PIN ON PIN PAD on " + filepath.Join("run", "pinpad"), "/api/pinpad/type", "dashboard"} {
			if !strings.Contains(got, want) {
				t.Errorf("notices lack %q:\n%s", want, got)
			}
		}
		// Once the PIN came, nothing more is said.
		n.event(terminal.Event{Kind: terminal.EventState, State: terminal.StateOnline})
		n.event(terminal.Event{Kind: terminal.EventDisplay, State: terminal.StateWaitCard, Text: "INSERT CARD"})
		n.event(terminal.Event{Kind: terminal.EventState, State: terminal.StateOnline})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if strings.Count(w.String(), "still waiting") != 1 {
			t.Errorf("hint repeated after the wait ended:\n%s", w.String())
		}
	})
}
