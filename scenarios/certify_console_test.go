package scenarios

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/simulators/iso"
)

// consoleTerminal stands for the person at the terminal: it reads the
// console, and at each OPERATOR prompt signs on over a raw connection.
type consoleTerminal struct {
	t    *testing.T
	mu   sync.Mutex
	out  bytes.Buffer
	addr string
	done chan error
}

var listenLine = regexp.MustCompile(`host listening on (\S+);`)

func (c *consoleTerminal) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(p)
	if m := listenLine.FindSubmatch(p); m != nil {
		c.addr = string(m[1])
	}
	if bytes.HasPrefix(p, []byte("OPERATOR: SIGNON")) {
		go func(addr string) { c.done <- signOn(addr) }(c.addr)
	}
	return len(p), nil
}

func signOn(addr string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	m, err := iso.NewMessage(&iso.Network{MTI: iso.MTINetworkRequest, TransmissionDT: time.Now().Format("0102150405"),
		STAN: "000001", TerminalID: "TERM0001", MerchantID: "123456789012345", NetworkCode: "001"})
	if err != nil {
		return err
	}
	packed, err := m.Pack()
	if err != nil {
		return err
	}
	if _, err := conn.Write(iso.Frame(packed)); err != nil {
		return err
	}
	n, err := iso.ReadLength(conn)
	if err != nil {
		return err
	}
	_, err = io.ReadFull(conn, make([]byte, n))
	return err
}

// TestCertifyConsole: without --operator the prompt goes to the console
// and the case waits on the wire for what the person at the terminal does.
func TestCertifyConsole(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "signon.feature")
	err := os.WriteFile(plan, []byte(`@certify
Feature: console
  Scenario: sign-on by hand
    When the operator signs the terminal on
    Then the host answered the sign-on "00"
    And the terminal sent a "0800" with these fields:
      | field | value    |
      | 70    | 001      |
      | 41    | TERM0001 |
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ct := &consoleTerminal{t: t, done: make(chan error, 1)}
	res, err := RunCertify(context.Background(), CertifyOptions{Listen: "127.0.0.1:0", Plan: []string{plan}, Output: ct,
		Timeout: 20 * time.Second, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ct.mu.Lock()
	out := ct.out.String()
	ct.mu.Unlock()
	if res.Status != 0 || res.Passed() != 1 {
		t.Fatalf("status %d, passed %d:\n%s", res.Status, res.Passed(), out)
	}
	if err := <-ct.done; err != nil {
		t.Errorf("the operator's sign-on: %v", err)
	}
	if !strings.Contains(out, "OPERATOR: SIGNON") {
		t.Errorf("no prompt on the console:\n%s", out)
	}
	if ev := res.Scenarios[0].Evidence; len(ev) != 2 || !strings.Contains(ev[0], "Network Management Information Code") {
		t.Errorf("want the 0800 and 0810 as evidence with field names, got %q", ev)
	}
}
