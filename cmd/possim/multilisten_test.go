package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostListenersOfTwoDialects: possim host --listen ADDR=possim87
// --listen ADDR=cup serves possim terminal on the first and possim
// terminal --dialect cup on the second; a terminal the profile says speaks
// cup is refused (58) on the possim87 listener.
func TestHostListenersOfTwoDialects(t *testing.T) {
	dir := t.TempDir()
	def, err := os.ReadFile(filepath.Join("..", "..", "profile", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// CUPT0001 first, so the terminal that loads this profile is it; the
	// host serves TERM0001 (no dialect) from the same file.
	lab := filepath.Join(dir, "lab.yaml")
	y := strings.Replace(string(def), "terminals:\n", "terminals:\n  - id: CUPT0001\n    merchant: \"123456789012345\"\n    software: \"2.1.0\"\n    dialect: cup\n", 1)
	if err := os.WriteFile(lab, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, "host", "--db", filepath.Join(dir, "host.db"), "--profile", lab, "--seed", "1",
		"--listen", "127.0.0.1:0=possim87", "--listen", "127.0.0.1:0=cup")
	addrs := map[string]string{}
	for len(addrs) < 2 {
		line, err := r.stdout.ReadString('\n')
		if err != nil {
			t.Fatalf("host said %v; stderr:\n%s", err, r.stderr.String())
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "possim host listening on "); ok {
			addr, dialect, _ := strings.Cut(rest, " ")
			addrs[strings.Trim(dialect, "()")] = addr
		}
	}
	if addrs["possim87"] == "" || addrs["cup"] == "" {
		t.Fatalf("listening lines: %v; want one possim87 and one cup", addrs)
	}
	go func() { // the host's later lines, so it never blocks on stdout; stop reads them
		b, _ := io.ReadAll(r.stdout)
		r.rest <- string(b)
	}()
	sale := []string{"sale", "--amount", "1.00", "--card", "visa-credit", "--entry", "chip", "--pin", "1234"}
	if code, out := termCLI(t, addrs["possim87"], filepath.Join(dir, "a.json"), sale...); code != 0 || !strings.Contains(out, "SALE approved") {
		t.Errorf("possim87 terminal on the possim87 listener: exit %d\n%s", code, out)
	}
	// Another card: a chip card's counter lives in one terminal's state.
	cupArgs := []string{"--profile", lab, "--dialect", "cup", "sale", "--amount", "1.00", "--card", "mc-debit", "--entry", "chip", "--pin", "1234"}
	if code, out := termCLI(t, addrs["cup"], filepath.Join(dir, "b.json"), cupArgs...); code != 0 || !strings.Contains(out, "SALE approved") {
		t.Errorf("cup terminal on the cup listener: exit %d\n%s", code, out)
	}
	// The cup terminal on the possim87 listener, speaking the listener's
	// wire: understood, and refused as not its listener.
	wrong := append([]string{"--profile", lab}, sale...)
	if code, out := termCLI(t, addrs["possim87"], filepath.Join(dir, "c.json"), wrong...); code == 0 || !strings.Contains(out, "NOT PERMITTED TO TERMINAL") {
		t.Errorf("cup terminal on the possim87 listener: exit %d, want a 58\n%s", code, out)
	}
	if code, _ := r.stop(t); code != 0 {
		t.Errorf("host exit %d\n%s", code, r.stderr.String())
	}
	if errs := r.stderr.String(); !strings.Contains(errs, "terminal_dialect=cup") || !strings.Contains(errs, "use="+addrs["cup"]) {
		t.Errorf("host log does not send the terminal to %s:\n%s", addrs["cup"], errs)
	}
}
