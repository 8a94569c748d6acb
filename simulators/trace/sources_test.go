package trace

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/virtualdevices/bridge"
)

// A timeline written by the lab's own recorder: the host's and the
// terminal's messages, directions turned to the host's side, the device
// events left out and counted.
func TestTimeline(t *testing.T) {
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rec := harness.NewRecorder(func() time.Time { clock = clock.Add(time.Millisecond); return clock })
	sale := map[string]string{"2": "476173******0010", "3": "000000", "11": "000004", "41": "TERM0001", "52": "[8 bytes]"}
	rec.Add(harness.Event{Source: "cardreader", Kind: "insert", Text: "visa-credit"})
	rec.Add(harness.Event{Source: "terminal", Kind: "iso_out", MTI: "0200", Fields: sale})
	rec.Add(harness.Event{Source: "host", Kind: "iso_in", MTI: "0200", Fields: sale})
	answer := map[string]string{"3": "000000", "11": "000004", "39": "05", "41": "TERM0001"}
	rec.Add(harness.Event{Source: "host", Kind: "iso_out", MTI: "0210", Code: "05", Fields: answer})
	rec.Add(harness.Event{Source: "terminal", Kind: "iso_in", MTI: "0210", Code: "05", Fields: answer})
	var b bytes.Buffer
	if err := rec.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	tr, err := Read(&b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range tr.Messages {
		got = append(got, m.Conn+" "+m.Dir+" "+m.MTI+" "+m.Role)
	}
	want := "terminal in 0200 request, host in 0200 request, host out 0210 response, terminal out 0210 response"
	if strings.Join(got, ", ") != want || tr.Skipped != 1 || !tr.Messages[0].HasAt {
		t.Errorf("read %q, %d skipped; want %q, 1 skipped", strings.Join(got, ", "), tr.Skipped, want)
	}
	if s := Summarize(tr.Messages); s.Exchanges != 2 || s.Codes["05"] != 2 {
		t.Errorf("summary %s; want 2 exchanges, 05 twice", s)
	}
	if f := tr.Messages[2].Fields; f[len(f)-2].Meaning != "DO NOT HONOUR" {
		t.Errorf("field 39 meaning %q; want DO NOT HONOUR", f[len(f)-2].Meaning)
	}
}

// A bridge recording is device bytes by direction, card numbers masked.
func TestBridgeRecording(t *testing.T) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range []bridge.Record{
		{T: "2026-11-30T12:00:00.000000001Z", Event: "pos-connected"},
		{T: "2026-11-30T12:00:00.1Z", Dir: bridge.POSToDev, Hex: "025231"},
		{T: "2026-11-30T12:00:00.2Z", Dir: bridge.DevToPOS, Hex: "3b343736313733393030313031303031303d333031323f"},
	} {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString("{\"t\": \"yesterday\", \"dir\": \"dev->pos\"}\n")
	tr, err := Read(&b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Messages) != 3 || tr.Messages[0].Kind != KindEvent || tr.Messages[1].Text != `"\x02R1"` ||
		tr.Messages[2].Text != `";476173******0010=3012?"` || tr.Messages[2].Dir != "dev->pos" {
		for _, m := range tr.Messages {
			t.Logf("%s %s %s %d %s", m.Kind, m.Dir, m.Time.Format(time.RFC3339Nano), m.Length, m.Text)
		}
		t.Error("bridge recording read wrong")
	}
	if len(tr.Problems) != 1 || tr.Problems[0].Where != "line 4" {
		t.Errorf("problems %v; want one at line 4", tr.Problems)
	}
}

// Hex dumps: with or without the length header, spaces allowed, the
// timestamp forms of host logs; a line that is not hex names its line.
func TestHexDump(t *testing.T) {
	req, resp := frame(t, "0800", "000001"), frame(t, "0810", "000001")
	spaced := func(b []byte) string {
		var s []string
		for _, c := range b {
			s = append(s, strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
		return strings.Join(s, " ")
	}
	in := "# from a ticket\n" +
		"2026-11-30 12:00:00.100 > " + spaced(req[2:]) + "\n" +
		"[12:00:00.200] < " + spaced(resp) + "\n" +
		"2026-11-30T12:00:00.3Z IN 0011zz\n" +
		"303830303030\n"
	tr, err := Read(strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mtis(tr), "out 0800 000001, in 0810 000001, malformed"; got != want {
		t.Errorf("decoded %s; want %s", got, want)
	}
	if len(tr.Problems) != 1 || tr.Problems[0].Where != "line 4" {
		t.Errorf("problems %v; want one at line 4", tr.Problems)
	}
	if _, err := Read(strings.NewReader("hello world\n"), Options{}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a file of no hex: %v; want an error naming line 1", err)
	}
}
