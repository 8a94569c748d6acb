package serialtest_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/possim/possim/virtualdevices/serial"
	"github.com/possim/possim/virtualdevices/serial/serialtest"
)

// echoDevice is the smallest framed device: it answers every frame with
// "ECHO:" + its data, on a pty.
type echoDevice struct {
	pty  *serial.PTY
	link *serial.FrameLink
	wg   sync.WaitGroup
}

func startEcho(t *testing.T) (io.Closer, string) {
	p, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(t.TempDir(), "echo")})
	if err != nil {
		t.Fatal(err)
	}
	d := &echoDevice{pty: p, link: serial.NewFrameLink(p, serial.FrameConfig{})}
	d.wg.Go(func() {
		ctx := context.Background()
		for {
			req, err := d.link.Recv(ctx)
			if err != nil {
				return
			}
			d.link.Send(ctx, append([]byte("ECHO:"), req...))
		}
	})
	return d, p.Path()
}

func (d *echoDevice) Close() error {
	err := d.link.Close()
	d.wg.Wait()
	return err
}

func TestConformanceEcho(t *testing.T) {
	serialtest.Conformance(t, startEcho, []byte("PING"), func(reply []byte) bool {
		return string(reply) == "ECHO:PING"
	})
}

// rawEcho answers raw bytes: each byte b comes back as b+1 (a stand-in for
// a status query like ESC/POS DLE EOT n).
type rawEcho struct {
	pty *serial.PTY
	wg  sync.WaitGroup
}

func startRawEcho(t *testing.T) (io.Closer, string) {
	p, err := serial.OpenPTY(serial.PTYConfig{Link: filepath.Join(t.TempDir(), "raw")})
	if err != nil {
		t.Fatal(err)
	}
	d := &rawEcho{pty: p}
	d.wg.Go(func() {
		buf := make([]byte, 64)
		for {
			n, err := p.Read(buf)
			for i := range buf[:n] {
				buf[i]++
			}
			p.Write(buf[:n])
			if err != nil {
				return
			}
		}
	})
	return d, p.Path()
}

func (d *rawEcho) Close() error {
	err := d.pty.Close()
	d.wg.Wait()
	return err
}

func TestConformanceRaw(t *testing.T) {
	serialtest.Run(t, serialtest.Device{
		Open:      startRawEcho,
		Probe:     []byte{0x10, 0x04, 0x01},
		WantReply: func(got []byte) bool { return bytes.HasSuffix(got, []byte{0x11, 0x05, 0x02}) },
		Raw:       true,
	})
}
