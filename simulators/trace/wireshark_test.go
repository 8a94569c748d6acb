package trace

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/moov-io/iso8583/field"
	"github.com/possim/possim/card"
	"github.com/possim/possim/internal/sharktest"
	"github.com/possim/possim/simulators/iso"
)

// wsMasked is what trace shows for Wireshark's value v of field n: the
// same masking, and numbers without their leading zeros as moov reads
// them.
func wsMasked(d *iso.Dialect, n int, v string) string {
	switch n {
	case 2:
		return card.MaskPAN(v)
	case 35, 36, 45:
		return "[" + strconv.Itoa(len(v)) + " bytes]" // track characters
	case 52, 55:
		return "[" + strconv.Itoa(len(v)/2) + " bytes]" // binary shown as hex
	case 62:
		if len(v) == 38 {
			return "[key under TMK] kcv=" + v[32:]
		}
	}
	if _, ok := d.Spec.Fields[n].(*field.Numeric); ok {
		if s := strings.TrimLeft(v, "0"); s != "" {
			return s
		}
		return "0"
	}
	return v
}

// n15Misread: Wireshark's ISO 8583-1987 table reads 86-89 as n15 where
// ISO 8583:1987 (and possim87) has n16, so each of them starts one byte
// earlier than the last: the dissector's values of these fields, put end
// to end, are the start of ours put end to end.
var n15Misread = map[int]bool{86: true, 87: true, 88: true, 89: true}

// The captured session decodes as Wireshark's dissector decodes it,
// message by message and field by field.
func TestWiresharkAgrees(t *testing.T) {
	const pcap, port = "testdata/session.pcapng", 18583
	ws := sharktest.Decode(t, pcap, port)
	for i := 1; i < len(ws); i++ {
		if ws[i].Frame == ws[i-1].Frame {
			t.Fatalf("frame %s holds several messages; the comparison reads one per frame", ws[i].Frame)
		}
	}
	tr := readFile(t, pcap, Options{Port: port})
	d := iso.Possim87()
	if len(ws) != len(tr.Messages) {
		t.Fatalf("Wireshark reads %d messages, trace %d", len(ws), len(tr.Messages))
	}
	compared := 0
	for i, w := range ws {
		m := tr.Messages[i]
		if "packet "+w.Frame != m.Where || w.MTI != m.MTI {
			t.Errorf("message %d: Wireshark %s at frame %s, trace %s at %s", i+1, w.MTI, w.Frame, m.MTI, m.Where)
			continue
		}
		ours := map[int]string{}
		for _, f := range m.Fields {
			ours[f.Num] = f.Value
		}
		for n, v := range w.Fields {
			want := wsMasked(d, n, v)
			got, ok := ours[n]
			switch {
			case !ok:
				t.Errorf("#%d %s field %d: Wireshark %q, trace has none", m.N, m.MTI, n, v)
			case n15Misread[n] && len(v) == 15:
				// compared below, all together
			case got != want:
				t.Errorf("#%d %s field %d: Wireshark %q (shown %q), trace %q", m.N, m.MTI, n, v, want, got)
			}
			compared++
		}
		var wsRun, ourRun string
		for n := 86; n <= 89; n++ {
			if v, ok := w.Fields[n]; ok && len(v) == 15 {
				wsRun += v
				ourRun += fmt.Sprintf("%016s", ours[n])
			}
		}
		if !strings.HasPrefix(ourRun, wsRun) {
			t.Errorf("#%d %s fields 86-89: Wireshark (n15) %q, trace (n16) %q", m.N, m.MTI, wsRun, ourRun)
		}
		if len(ours) != len(w.Fields) {
			t.Errorf("#%d %s: trace has %d fields, Wireshark %d", m.N, m.MTI, len(ours), len(w.Fields))
		}
	}
	if compared < 300 {
		t.Errorf("compared %d fields; the session has more", compared)
	}
	t.Logf("%d messages, %d fields compared with Wireshark", len(ws), compared)
}
