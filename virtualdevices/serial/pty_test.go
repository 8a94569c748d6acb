package serial

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openTestPTY(t *testing.T) *PTY {
	t.Helper()
	p, err := OpenPTY(PTYConfig{Link: filepath.Join(t.TempDir(), "dev"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func openTestRaw(t *testing.T, path string) Port {
	t.Helper()
	c, err := OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readN reads exactly n bytes or fails after a generous real-time bound.
func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	type res struct {
		b   []byte
		err error
	}
	c := make(chan res, 1)
	go func() {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		c <- res{b, err}
	}()
	select {
	case r := <-c:
		if r.err != nil {
			t.Fatalf("reading %d bytes: %v", n, r.err)
		}
		return r.b
	case <-time.After(10 * time.Second):
		t.Fatalf("reading %d bytes: nothing after 10s", n)
		return nil
	}
}

// TestPTYRawBytes checks raw mode both ways: CR, LF, ETX (^C), ^S, ^D and
// 0xFF pass unchanged, with no echo and no CR/LF translation.
func TestPTYRawBytes(t *testing.T) {
	p := openTestPTY(t)
	pos := openTestRaw(t, p.Path())
	all := []byte{0x0D, 0x03, 0x0A, 0x13, 0x11, 0x04, 0x7F, 0xFF, 0x00, 0x1A, 0x1C}

	if _, err := pos.Write(all); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, p, len(all)); !bytes.Equal(got, all) {
		t.Errorf("device read % X, POS wrote % X", got, all)
	}
	if _, err := p.Write(all); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, pos, len(all)); !bytes.Equal(got, all) {
		t.Errorf("POS read % X, device wrote % X (echo or translation?)", got, all)
	}
}

func TestPTYCloseUnblocksRead(t *testing.T) {
	p, err := OpenPTY(PTYConfig{})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := p.Read(make([]byte, 8)); errc <- err }()
	time.Sleep(20 * time.Millisecond) // let Read block; the result holds either way
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != io.EOF {
			t.Errorf("Read after Close = %v, want io.EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock a pending Read")
	}
}

// TestPTYReopen: a POS client closes and reopens the link many times; the
// device keeps reading and writing through the same PTY.
func TestPTYReopen(t *testing.T) {
	p := openTestPTY(t)
	for i := range 20 {
		pos, err := OpenRaw(p.Path())
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		msg := []byte{byte('a' + i), 0x0D}
		pos.Write(msg)
		if got := readN(t, p, 2); !bytes.Equal(got, msg) {
			t.Fatalf("open %d: device read % X, want % X", i, got, msg)
		}
		p.Write([]byte{byte('A' + i)})
		if got := readN(t, pos, 1); got[0] != byte('A'+i) {
			t.Fatalf("open %d: POS read %q", i, got)
		}
		pos.Close()
	}
}

// TestPTYStaleOutputFlushed: what the device wrote while nobody listened is
// not delivered to the next client (OpenRaw flushes on open).
func TestPTYStaleOutputFlushed(t *testing.T) {
	p := openTestPTY(t)
	p.Write([]byte("stale"))
	pos := openTestRaw(t, p.Path())
	p.Write([]byte("fresh"))
	if got := readN(t, pos, 5); string(got) != "fresh" {
		t.Errorf("new client read %q, want \"fresh\"", got)
	}
}

// TestPTYWriteWithoutClient: a device writing to nobody never blocks forever.
func TestPTYWriteWithoutClient(t *testing.T) {
	p, err := OpenPTY(PTYConfig{WriteTimeout: 20 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	chunk := bytes.Repeat([]byte{'x'}, 64<<10)
	done := make(chan error, 1)
	go func() {
		var err error
		for range 1 {
			if _, err = p.Write(chunk); err != nil {
				break
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Write blocked with no client reading")
	}
}

func TestPTYLink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "printer")
	if err := os.WriteFile(link, []byte("not a link"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPTY(PTYConfig{Link: link}); err == nil {
		t.Fatal("OpenPTY replaced a regular file at the link path")
	}
	os.Remove(link)
	if err := os.Symlink("/nonexistent/stale", link); err != nil {
		t.Fatal(err)
	}
	p, err := OpenPTY(PTYConfig{Link: link})
	if err != nil {
		t.Fatalf("OpenPTY over a stale symlink: %v", err)
	}
	if target, _ := os.Readlink(link); target != p.SlaveName() || p.Path() != link {
		t.Errorf("link -> %q, Path %q; want -> %q, Path %q", target, p.Path(), p.SlaveName(), link)
	}
	p.Close()
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link still there after Close: %v", err)
	}
}

func TestOpenRawNotATTY(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(path, nil, 0o600)
	if p, err := OpenRaw(path); err == nil {
		p.Close()
		t.Fatal("OpenRaw on a regular file succeeded, want a raw-mode error")
	}
	if _, err := OpenRaw(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenRaw on a missing path = %v, want ErrNotExist", err)
	}
}

// TestPTYHangupSeenByClient: closing the device gives the POS side io.EOF.
func TestPTYHangupSeenByClient(t *testing.T) {
	p := openTestPTY(t)
	pos := openTestRaw(t, p.Path())
	errc := make(chan error, 1)
	go func() { _, err := pos.Read(make([]byte, 1)); errc <- err }()
	p.Close()
	select {
	case err := <-errc:
		if err != io.EOF {
			t.Errorf("POS Read after device Close = %v, want io.EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("POS Read not unblocked by device Close")
	}
}

// TestOpenPortOnPTY drives go.bug.st/serial against a pty slave: the same
// code path as a USB serial adapter.
func TestOpenPortOnPTY(t *testing.T) {
	p := openTestPTY(t)
	sp, err := OpenPort(p.SlaveName(), 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	dev := NewFrameLink(p, FrameConfig{Logger: testLogger(t)})
	pos := NewFrameLink(sp, FrameConfig{Logger: testLogger(t)})
	defer dev.Close()
	defer pos.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		if req, err := dev.Recv(ctx); err == nil {
			dev.Send(ctx, append(req, '!'))
		}
	}()
	if err := pos.Send(ctx, []byte("hi\r")); err != nil {
		t.Fatal(err)
	}
	if got, err := pos.Recv(ctx); err != nil || string(got) != "hi\r!" {
		t.Fatalf("Recv = %q, %v", got, err)
	}
	if _, err := OpenPort(filepath.Join(t.TempDir(), "missing"), 9600); err == nil {
		t.Error("OpenPort on a missing path succeeded")
	}
}

// BenchmarkPTYRoundTrip measures one framed request/response through a real
// pty: request frame -> ACK -> response frame -> ACK.
func BenchmarkPTYRoundTrip(b *testing.B) {
	p, err := OpenPTY(PTYConfig{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := OpenRaw(p.SlaveName())
	if err != nil {
		b.Fatal(err)
	}
	dev := NewFrameLink(p, FrameConfig{})
	pos := NewFrameLink(c, FrameConfig{})
	defer dev.Close()
	defer pos.Close()
	ctx := context.Background()
	go func() {
		for {
			req, err := dev.Recv(ctx)
			if err != nil {
				return
			}
			if err := dev.Send(ctx, req); err != nil {
				return
			}
		}
	}()
	req := []byte("00READ-CARD 000100")
	b.ReportAllocs()
	for b.Loop() {
		if err := pos.Send(ctx, req); err != nil {
			b.Fatal(err)
		}
		if _, err := pos.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/roundtrip")
}

// TestPTYReportHangups: once asked, Read reports a client closing the port
// after all it wrote, and the next client's bytes come after; a device
// writing to nobody still never blocks (the master flushes instead).
func TestPTYReportHangups(t *testing.T) {
	p, err := OpenPTY(PTYConfig{Link: filepath.Join(t.TempDir(), "dev"), WriteTimeout: 20 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.ReportHangups()

	type result struct {
		data string
		err  error
	}
	reads := make(chan result, 16)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := p.Read(buf)
			reads <- result{string(buf[:n]), err}
			if errors.Is(err, io.EOF) {
				return
			}
		}
	}()
	next := func() result {
		t.Helper()
		select {
		case r := <-reads:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("Read returned nothing")
			return result{}
		}
	}
	for _, msg := range []string{"first", "second"} {
		c, err := OpenRaw(p.Path())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		var got string
		for len(got) < len(msg) {
			r := next()
			if r.err != nil {
				t.Fatalf("%s: read %q then %v", msg, got, r.err)
			}
			got += r.data
		}
		if got != msg {
			t.Errorf("read %q, want %q", got, msg)
		}
		c.Close()
		if r := next(); !errors.Is(r.err, ErrHangup) {
			t.Errorf("after %s closed: %q, %v; want ErrHangup", msg, r.data, r.err)
		}
	}

	done := make(chan error, 1)
	go func() {
		_, err := p.Write(bytes.Repeat([]byte{'x'}, 256<<10))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Write blocked with no client and no slave fd of ours")
	}
}
