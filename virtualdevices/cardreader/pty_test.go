package cardreader

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
	"github.com/possim/possim/virtualdevices/serial/serialtest"
)

// TestOverPTY runs the reader on a real pty and drives it from the symlink
// the way a POS application does: first with the Driver, then, after a
// reconnect, with hand-written protocol frames.
func TestOverPTY(t *testing.T) {
	p := profile.Default()
	r, err := New(Config{Cards: CardsFromProfile(p.Cards), IssuerMasterKey: p.Keys.IMK()})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cardreader")
	pty, err := serial.OpenPTY(serial.PTYConfig{Link: path})
	if err != nil {
		t.Skipf("no ptys here: %v", err)
	}
	r.Attach(pty)
	defer r.Close()

	port, err := serial.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDriver(port, DriverConfig{Timeout: 5 * time.Second})
	ctx := t.Context()
	if err := d.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Insert("visa-credit"); err != nil {
		t.Fatal(err)
	}
	rd, err := d.WaitCard(ctx, sale)
	if err != nil {
		t.Fatal(err)
	}
	arpc := verifyAtHost(t, p.Keys.IMK(), rd, "00")
	if err := d.Complete(ctx, arpc, "00"); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// A second POS session on the same path.
	port, err = serial.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	link := serial.NewFrameLink(port, serial.FrameConfig{})
	defer link.Close()
	for _, c := range []struct{ cmd, want string }{
		{"STATUS", "STATUS OK PRESENT"},
		{"REMOVE?", "REMOVE? OK PRESENT"},
		{"ARPC 0000000000000000 00", "ARPC ERR no transaction to complete"},
	} {
		if err := link.Send(ctx, []byte(c.cmd)); err != nil {
			t.Fatalf("%s: %v", c.cmd, err)
		}
		// A frame whose ACK came late may be sent again, even to the next
		// client: skip answers to other commands, as the protocol says.
		var got []byte
		for {
			got, err = link.Recv(ctx)
			if err != nil {
				t.Fatalf("%s: %v", c.cmd, err)
			}
			if strings.HasPrefix(string(got), strings.Fields(c.cmd)[0]+" ") {
				break
			}
			t.Logf("skipping stale answer %q", got)
		}
		if string(got) != c.want {
			t.Errorf("%q -> %q, want %q", c.cmd, got, c.want)
		}
	}
}

// TestConformance runs the shared serial device conformance suite.
func TestConformance(t *testing.T) {
	p := profile.Default()
	serialtest.Conformance(t, func(t *testing.T) (io.Closer, string) {
		r, err := New(Config{Cards: CardsFromProfile(p.Cards), IssuerMasterKey: p.Keys.IMK()})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "cardreader")
		pty, err := serial.OpenPTY(serial.PTYConfig{Link: path})
		if err != nil {
			t.Skipf("no ptys here: %v", err)
		}
		r.Attach(pty)
		return r, path
	}, []byte("STATUS"), func(b []byte) bool { return string(b) == "STATUS OK EMPTY" })
}
