package printer

import (
	"net"
	"testing"
	"time"
)

// TestTCPPort prints over a loopback TCP port as a POS does to port 9100,
// with two clients one after the other.
func TestTCPPort(t *testing.T) {
	p, rec := newTestPrinter(t, Config{})
	addr, err := p.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range []string{"first client", "second client"} {
		conn, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		d := NewDriver(conn)
		d.StatusTimeout = 10 * time.Second // real time on a busy machine
		if st, err := d.Status(t.Context()); err != nil || !st.Ready() {
			t.Fatalf("client %d: status %+v, %v", i+1, st, err)
		}
		if err := d.Print(t.Context(), NewBuilder(ASCII).Init().Line(line).Cut().Bytes()); err != nil {
			t.Fatalf("client %d: %v", i+1, err)
		}
		_ = conn.Close()
		if r, _ := p.LastReceipt(); r.Text != line+"\n" {
			t.Errorf("client %d: receipt %q", i+1, r.Text)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", addr.String()); err == nil {
		t.Error("port still open after Close")
	}
	if got := rec.kinds(EventLink); len(got) < 3 {
		t.Errorf("link events = %q, want connected/ended per client", got)
	}
}

func TestListenTCPBadAddress(t *testing.T) {
	p, _ := newTestPrinter(t, Config{})
	if _, err := p.ListenTCP("256.0.0.1:http"); err == nil {
		t.Error("ListenTCP on a bad address succeeded")
	}
}

// TestTCPOneClientAtATime: a second client is served only after the first
// disconnects, as on a network printer's raw port.
func TestTCPOneClientAtATime(t *testing.T) {
	p, rec := newTestPrinter(t, Config{})
	addr, err := p.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c1, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	d1 := NewDriver(c1)
	d1.StatusTimeout = 10 * time.Second
	if _, err := d1.Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	c2, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	d2 := NewDriver(c2)
	d2.StatusTimeout = time.Minute // it waits for c1 to leave
	res := make(chan error, 1)
	go func() {
		_, err := d2.Status(t.Context())
		res <- err
	}()
	if err := d1.Print(t.Context(), NewBuilder(ASCII).Init().Line("first").Cut().Bytes()); err != nil {
		t.Fatal(err)
	}
	_ = c1.Close()
	if err := <-res; err != nil {
		t.Fatalf("second client: %v", err)
	}
	if got := rec.kinds(EventLink); len(got) != 3 || got[0] != "connected" || got[1] != "ended" || got[2] != "connected" {
		t.Errorf("link events = %q, want connected, ended, connected", got)
	}
}
