package trace

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// A request the capture missed at the end of a connection leaves no later
// segment to show the hole, but the host's answer acknowledges its bytes:
// the gap is reported where that acknowledgement was seen, and the answer
// is not taken for the whole story.
func TestAckedButNotCaptured(t *testing.T) {
	req1, req2 := frame(t, "0800", "000001"), frame(t, "0800", "000002")
	c := newCap(t)
	c.handshake()
	c.send(true, req1)
	c.send(false, frame(t, "0810", "000001"))
	c.cSeq += uint32(len(req2)) // req2 was never captured
	c.send(false, frame(t, "0810", "000002"))
	tr := c.read(Options{})
	if got, want := mtis(tr), "in 0800 000001, out 0810 000001, event, out 0810 000002"; got != want {
		t.Errorf("decoded %s; want %s", got, want)
	}
	want := "connection 127.0.0.1:40000-127.0.0.1:8583 at stream byte " + strconv.Itoa(len(req1)) + " (packet 6)" // the answer that acknowledges it
	if len(tr.Gaps) != 1 || tr.Gaps[0].Where != want || !strings.Contains(tr.Gaps[0].Error(), strconv.Itoa(len(req2))+" bytes from 127.0.0.1:40000 to 127.0.0.1:8583 missing") {
		t.Errorf("gaps %v; want %d bytes at %s", tr.Gaps, len(req2), want)
	}
	// Everything captured, FIN included: no gap.
	c = newCap(t)
	c.handshake()
	c.send(true, req1)
	c.send(false, frame(t, "0810", "000001"))
	c.packet(true, c.cSeq, nil, func(tcp *layers.TCP) { tcp.FIN = true })
	c.cSeq++
	c.packet(false, c.sSeq, nil, nil)
	if tr := c.read(Options{}); len(tr.Gaps) != 0 {
		t.Errorf("a complete capture has gaps %v", tr.Gaps)
	}
}
