package pinpad

import (
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
	"github.com/possim/possim/virtualdevices/serial/serialtest"
)

// TestOverPTY speaks the documented protocol to the pad through its pty
// symlink, as a POS application would, then reconnects with the Driver.
func TestOverPTY(t *testing.T) {
	tmk := profile.Default().Keys.TMK()
	p, err := New(Config{MasterKey: tmk})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pinpad")
	pty, err := serial.OpenPTY(serial.PTYConfig{Link: path})
	if err != nil {
		t.Skipf("no ptys here: %v", err)
	}
	p.Attach(pty)
	defer p.Close()

	port, err := serial.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	link := serial.NewFrameLink(port, serial.FrameConfig{})
	ctx := t.Context()
	exchange := func(cmd string) string {
		t.Helper()
		if err := link.Send(ctx, []byte(cmd)); err != nil {
			t.Fatalf("%s: %v", strings.Fields(cmd)[0], err)
		}
		got, err := link.Recv(ctx)
		if err != nil {
			t.Fatalf("%s: %v", strings.Fields(cmd)[0], err)
		}
		return string(got)
	}
	enc, _ := card.EncryptKey(tmk, sessionKey)
	kcv, _ := card.KCV(sessionKey)
	if got, want := exchange("LOADKEY "+strings.ToUpper(hex.EncodeToString(enc))+" "+kcv), "LOADKEY OK\nKCV="+kcv; got != want {
		t.Fatalf("LOADKEY -> %q, want %q", got, want)
	}
	if got := exchange("STATUS"); got != "STATUS OK READY\nKCV="+kcv {
		t.Errorf("STATUS -> %q", got)
	}
	p.Type("2580")
	got := exchange("PIN 4761739001010010 1234 30000")
	blk, err := hex.DecodeString(strings.TrimPrefix(got, "PIN OK "))
	if err != nil || !strings.HasPrefix(got, "PIN OK ") {
		t.Fatalf("PIN -> %d bytes, not PIN OK <hex>", len(got))
	}
	if pin, err := card.DecryptPIN(sessionKey, blk, "4761739001010010"); err != nil || pin != "2580" {
		t.Errorf("host decrypts %q, %v", pin, err)
	}
	link.Close()

	// Reconnect with the driver: the session key survived.
	port, err = serial.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDriver(port, DriverConfig{Timeout: 5 * time.Second})
	defer d.Close()
	if got, err := d.KeyCheck(ctx); err != nil || got != kcv {
		t.Errorf("KeyCheck after reconnect = %q, %v", got, err)
	}
	if err := d.Display(ctx, "APPROVED"); err != nil || p.Display() != "APPROVED" {
		t.Errorf("Display: %v, shows %q", err, p.Display())
	}
}

// TestConformance runs the shared serial device conformance suite.
func TestConformance(t *testing.T) {
	tmk := profile.Default().Keys.TMK()
	serialtest.Conformance(t, func(t *testing.T) (io.Closer, string) {
		p, err := New(Config{MasterKey: tmk})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "pinpad")
		pty, err := serial.OpenPTY(serial.PTYConfig{Link: path})
		if err != nil {
			t.Skipf("no ptys here: %v", err)
		}
		p.Attach(pty)
		return p, path
	}, []byte("STATUS"), func(b []byte) bool { return string(b) == "STATUS OK READY" })
}
