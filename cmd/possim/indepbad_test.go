package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// dropPacket writes a copy of a pcapng capture without packet n (from 1),
// as a capture that missed a segment has it.
func dropPacket(t *testing.T, capture string, n int) string {
	t.Helper()
	in, err := os.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewNgReader(in, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gap.pcapng")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w, err := pcapgo.NewNgWriter(out, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i != n {
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// A capture that missed the declined sale's request, the last segment
// the terminal sent on its connection: no later segment shows the hole,
// but the host's answer acknowledges the bytes. trace show says so where
// the answer was seen (exit 0: a gap is what the wire showed, not
// unreadable input), and the messages after it still decode.
func testShowGap(t *testing.T, ic *indepCapture) {
	gap := dropPacket(t, ic.path, 19) // the mc-debit 0200, one segment
	code, out, errs := runMain("trace", "show", gap)
	if code != 0 {
		t.Fatalf("trace show: exit %d, want 0\n%s", code, errs)
	}
	for _, want := range []string{
		"in gap: 367 bytes missing from 127.0.0.1:", // 2 + 365, the whole frame
		"(packet 19)\n#12 ",                         // the 0210, now packet 19, acknowledges it
		"out 0210 unsolicited (packet 19)",
		"in 0400 exchange 8 request (packet 24)",
		"\ngap: connection 127.0.0.1:",
		"summary: 20 messages, 10 exchanges, 1 unanswered, 1 unsolicited,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace show of a capture with a gap lacks %q:\n%s", want, out)
		}
	}
}

// Traffic on the host port that is not ISO 8583 (a browser's request)
// shows as a malformed message naming its packet, its length and its
// first bytes; the 0800 after it on the same connection, in the next
// segment, still decodes. (Framing resumes at a segment boundary: junk
// and a frame in one segment are one malformed frame.)
func TestTraceShowNotISO(t *testing.T) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	go func() {
		c, err := sink.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	const http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	p := startShapingTap(t, sink.Addr().String(), func(_ bool, data []byte) [][]byte {
		if len(data) > len(http) && string(data[:len(http)]) == http {
			return [][]byte{data[:len(http)], data[len(http):]}
		}
		return [][]byte{data}
	})
	c, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	echo, _, err := packIndep("0800", map[int]string{7: "1130120000", 11: "000001", 41: "TERM0001", 70: "301"})
	if err != nil {
		t.Fatal(err)
	}
	msg := append([]byte(http), binary.BigEndian.AppendUint16(nil, uint16(len(echo)))...)
	if _, err := c.Write(append(msg, echo...)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	capture := p.close(t)
	code, out, errs := runMain("trace", "show", capture)
	if code != 0 {
		t.Fatalf("trace show: exit %d, want 0\n%s", code, errs)
	}
	for _, want := range []string{
		" in MALFORMED 27 bytes, first 16: 474554202f20485454502f312e310d0a (length header says 18245 bytes (limit 4096): not an ISO 8583 frame) (packet 3)",
		" in 0800 exchange 1 unanswered (packet 4)",
		"70 Network Management Information Code = 301 (echo test)",
		"1 malformed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace show of non-ISO traffic lacks %q:\n%s", want, out)
		}
	}
}
