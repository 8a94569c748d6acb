package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
	"github.com/possim/possim/virtualdevices/serial/serialtest"
)

// Quick retransmissions, and more of them than the default 3: on a busy
// machine running -race an ACK can be a second late, and these tests assert
// that the exchange gets through, not how fast.
const (
	testAckTimeout = 300 * time.Millisecond
	testRetries    = 10
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// socatPair starts `socat` joining two ptys and returns their paths: one
// end plays the real device's serial port, the other is where the fake
// device firmware sits. Without socat the test skips, unless CI is set.
func socatPair(t *testing.T) (port, firmware string) {
	t.Helper()
	bin, err := exec.LookPath("socat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("socat is required in CI (apt-get install -y socat)")
		}
		t.Skip("socat not installed (apt-get install -y socat)")
	}
	dir := t.TempDir()
	port, firmware = filepath.Join(dir, "ttyUSB0"), filepath.Join(dir, "firmware")
	cmd := exec.Command(bin, "-d", "-d",
		"pty,raw,echo=0,link="+port, "pty,raw,echo=0,link="+firmware)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	ready := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "starting data transfer loop") {
				close(ready)
			}
		}
		cmd.Wait()
	}()
	select {
	case <-ready:
	case <-exited:
		t.Fatal("socat exited before setting up its ptys")
	case <-time.After(10 * time.Second):
		t.Fatal("socat did not set up its ptys within 10s")
	}
	return port, firmware
}

// fakeFirmware is the device behind the serial port: a framed echo.
func fakeFirmware(t *testing.T, path string) {
	t.Helper()
	p, err := serial.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	l := serial.NewFrameLink(p, serial.FrameConfig{AckTimeout: testAckTimeout, Retries: testRetries, Logger: testLogger(t)})
	var wg sync.WaitGroup
	wg.Go(func() {
		ctx := context.Background()
		for {
			req, err := l.Recv(ctx)
			if err != nil {
				return
			}
			l.Send(ctx, append([]byte("ECHO:"), req...))
		}
	})
	t.Cleanup(func() { l.Close(); wg.Wait() })
}

type rig struct {
	b   *Bridge
	rec *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the bridge's writers and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) records(t *testing.T) []Record {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := ReadRecords(bytes.NewReader(s.b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// startRig builds socat pair + fake firmware + bridge over the real-port
// code path (go.bug.st/serial).
func startRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	port, firmware := socatPair(t)
	fakeFirmware(t, firmware)
	dev, err := serial.OpenPort(port, 115200)
	if err != nil {
		t.Fatal(err)
	}
	rec := &syncBuffer{}
	cfg.Device, cfg.Record, cfg.Logger = dev, rec, testLogger(t)
	b := New(cfg)
	if err := b.Start(); err != nil {
		dev.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing bridge: %v", err)
		}
	})
	return &rig{b: b, rec: rec}
}

// pos opens the POS side of the bridge (pty path or TCP) as a frame link.
func (r *rig) pos(t *testing.T) *serial.FrameLink {
	t.Helper()
	var p io.ReadWriteCloser
	var err error
	if addr := r.b.Addr(); addr != "" {
		p, err = net.Dial("tcp", addr)
	} else {
		p, err = serial.OpenRaw(r.b.Path())
	}
	if err != nil {
		t.Fatal(err)
	}
	l := serial.NewFrameLink(p, serial.FrameConfig{AckTimeout: testAckTimeout, Retries: testRetries, Logger: testLogger(t)})
	t.Cleanup(func() { l.Close() })
	return l
}

func exchange(t *testing.T, l *serial.FrameLink, msg string) {
	t.Helper()
	exchangeStale(t, l, msg, 0)
}

// exchangeStale allows up to `stale` replies to earlier requests first. The
// protocol has no sequence numbers: when a disconnect eats the POS's ACK,
// the device retransmits its last reply, and the next client may get it.
func exchangeStale(t *testing.T, l *serial.FrameLink, msg string, stale int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Send(ctx, []byte(msg)); err != nil {
		t.Fatalf("Send(%q): %v", msg, err)
	}
	want := "ECHO:" + msg
	for i := 0; ; i++ {
		got, err := l.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if string(got) == want {
			return
		}
		if i >= stale {
			t.Fatalf("reply %q, want %q", got, want)
		}
		t.Logf("skipping stale reply %q", got)
	}
}

// hexes lists the recorded chunks of one direction.
func hexes(recs []Record, d Dir) string {
	var sb strings.Builder
	for _, r := range recs {
		if r.Dir == d {
			sb.WriteString(r.Hex)
		}
	}
	return sb.String()
}

func TestBridgePTYRecordsBothWays(t *testing.T) {
	t.Parallel()
	r := startRig(t, Config{PTYLink: filepath.Join(t.TempDir(), "cardreader")})
	exchange(t, r.pos(t), "PING\r")

	recs := r.rec.records(t)
	req := hex.EncodeToString(serial.EncodeFrame([]byte("PING\r")))
	resp := hex.EncodeToString(serial.EncodeFrame([]byte("ECHO:PING\r")))
	if got := hexes(recs, POSToDev); !strings.HasPrefix(got, req) {
		t.Errorf("pos->dev recorded %s, want it to start with the request %s", got, req)
	}
	if got := hexes(recs, DevToPOS); !strings.HasPrefix(got, "06"+resp) {
		t.Errorf("dev->pos recorded %s, want ACK then the reply %s", got, resp)
	}
	for _, rec := range recs {
		if _, err := time.Parse(time.RFC3339Nano, rec.T); err != nil {
			t.Errorf("record time %q: %v", rec.T, err)
		}
	}
}

func TestBridgeTCP(t *testing.T) {
	t.Parallel()
	r := startRig(t, Config{TCPAddr: "127.0.0.1:0"})
	exchange(t, r.pos(t), "first")
	// A second client replaces the first, as a POS app that reconnects.
	exchange(t, r.pos(t), "second")
}

// TestBridgeFaults injects each fault on a live exchange and checks the
// frame protocol's reaction and the recording.
func TestBridgeFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault     Fault
		wantFault string // in the record of the affected chunk
		wantNAK   bool   // the device answered the damaged frame with NAK
	}{
		{Fault{Dir: POSToDev, Kind: Drop, Count: 1}, "drop", false},
		{Fault{Dir: POSToDev, Kind: Corrupt, Count: 1, Offset: -1}, "corrupt", true},
		{Fault{Dir: DevToPOS, Kind: Delay, Delay: 50 * time.Millisecond, Count: 1}, "delay", false},
		{Fault{Dir: DevToPOS, Kind: Drop, Count: 1}, "drop", false},
	}
	for _, tt := range tests {
		t.Run(tt.wantFault+"-"+string(tt.fault.Dir), func(t *testing.T) {
			t.Parallel()
			r := startRig(t, Config{PTYLink: filepath.Join(t.TempDir(), "dev")})
			// Set before any traffic, so the first chunk each way is the one
			// hit: the request frame pos->dev, the device's ACK dev->pos.
			r.b.SetFault(tt.fault)
			exchange(t, r.pos(t), "PING") // the protocol retransmits past the fault

			var found bool
			for _, rec := range r.rec.records(t) {
				if rec.Fault == tt.wantFault && rec.Dir == tt.fault.Dir {
					found = true
					if tt.fault.Kind == Corrupt && (rec.Sent == "" || rec.Sent == rec.Hex) {
						t.Errorf("corrupt record sent=%q hex=%q: want the changed bytes", rec.Sent, rec.Hex)
					}
				}
			}
			if !found {
				t.Errorf("no %s record with fault %q", tt.fault.Dir, tt.wantFault)
			}
			if nak := strings.Contains(hexes(r.rec.records(t), DevToPOS), "15"); tt.wantNAK && !nak {
				t.Error("device did not NAK the corrupted frame")
			}
		})
	}
}

// TestBridgeDisconnect: the POS side sees a hang-up, and the same link
// serves a new client.
func TestBridgeDisconnect(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"pty", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cfg := Config{PTYLink: filepath.Join(t.TempDir(), "dev")}
			if mode == "tcp" {
				cfg = Config{TCPAddr: "127.0.0.1:0"}
			}
			r := startRig(t, cfg)
			pos := r.pos(t)
			exchange(t, pos, "before")
			r.b.SetFault(Fault{Kind: Disconnect})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := pos.Recv(ctx); err != io.EOF {
				t.Fatalf("POS Recv after disconnect = %v, want io.EOF", err)
			}
			exchangeStale(t, r.pos(t), "after", 3)
			var events []string
			for _, rec := range r.rec.records(t) {
				if rec.Event != "" {
					events = append(events, rec.Event)
				}
			}
			if !strings.Contains(strings.Join(events, ","), "pos-disconnected,pos-connected") {
				t.Errorf("events %v: want a disconnect then a new connection", events)
			}
		})
	}
}

// TestBridgeDisconnectOnReply cuts the link when the device starts to answer.
func TestBridgeDisconnectOnReply(t *testing.T) {
	t.Parallel()
	r := startRig(t, Config{PTYLink: filepath.Join(t.TempDir(), "dev")})
	pos := r.pos(t)
	r.b.SetFault(Fault{Dir: DevToPOS, Kind: Disconnect, Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pos.Send(ctx, []byte("PING")); !errors.Is(err, io.EOF) && !errors.Is(err, serial.ErrNoAck) {
		t.Fatalf("Send across a disconnect = %v, want io.EOF or ErrNoAck", err)
	}
	exchangeStale(t, r.pos(t), "again", 3)
}

func TestBridgeConfigErrors(t *testing.T) {
	a, _ := serial.Pipe()
	tests := []Config{
		{},
		{Device: a, PTYLink: "x", TCPAddr: "127.0.0.1:0"},
		{Device: a, TCPAddr: "256.0.0.1:bad"},
	}
	for _, cfg := range tests {
		b := New(cfg)
		if err := b.Start(); err == nil {
			t.Errorf("Start(%+v) succeeded, want an error", cfg)
		}
		b.Close()
	}
}

func TestCreateRecordMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	os.WriteFile(path, []byte("old"), 0o644)
	f, err := CreateRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != 0 {
		t.Errorf("record file mode %v size %d, want 0600 and truncated", fi.Mode().Perm(), fi.Size())
	}
}

// TestBridgeConformance: a device behind the bridge passes the same
// conformance suite as a virtual one.
func TestBridgeConformance(t *testing.T) {
	t.Parallel()
	serialtest.Conformance(t, func(t *testing.T) (io.Closer, string) {
		r := startRig(t, Config{PTYLink: filepath.Join(t.TempDir(), "dev")})
		return r.b, r.b.Path()
	}, []byte("PING"), func(reply []byte) bool { return string(reply) == "ECHO:PING" })
}
