package trace

import (
	"os"
	"strings"
	"testing"
)

// The testdata session is a real one, captured on loopback by
// scripts/trace-testdata.sh: possim host with a faults file, possim
// terminal doing sign-on, an approved sale, a decline (51), a sale then
// its void, a sale then a refund of part of it, a sale the host drops
// (the terminal times out and reverses it) and settlement.

func readFile(t *testing.T, path string, opts Options) *Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := Read(f, opts)
	if err != nil {
		t.Fatalf("Read(%s): %v", path, err)
	}
	return tr
}

// story is the messages as "MTI STAN rc proc" lines, connection-free, so
// that sources with different connection names compare.
func story(msgs []*Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Kind != KindISO || m.NotSent {
			continue
		}
		out = append(out, strings.Join([]string{m.Dir, m.MTI, m.Field(11), m.Field(39), m.Field(3), m.Role}, " "))
	}
	return out
}

func TestSessionCapture(t *testing.T) {
	tr := readFile(t, "testdata/session.pcapng", Options{})
	if tr.Format != FormatPcapNG || tr.HostPort != 18583 || tr.HostBy != "listened (SYN)" {
		t.Errorf("format %s host port %d by %q; want pcapng 18583 by listened (SYN)", tr.Format, tr.HostPort, tr.HostBy)
	}
	if len(tr.Problems)+len(tr.Gaps) > 0 {
		t.Errorf("problems %v gaps %v; want none", tr.Problems, tr.Gaps)
	}
	s := Summarize(tr.Messages)
	if s.Messages != 37 || s.Exchanges != 19 || s.Unanswered != 1 || s.Reversals != 1 || s.Malformed != 0 ||
		s.Codes["00"] != 17 || s.Codes["51"] != 1 {
		t.Errorf("summary %s", s)
	}
	var sawVoid, sawRefund, sawUnanswered, sawReversal bool
	for _, m := range tr.Messages {
		for _, f := range m.Fields {
			switch {
			case f.Num == 2 && f.Value != "476173******0010":
				t.Errorf("#%d PAN shown as %q; want 476173******0010", m.N, f.Value)
			case (f.Num == 35 || f.Num == 52 || f.Num == 55) && !strings.HasSuffix(f.Value, " bytes]"):
				t.Errorf("#%d field %d shown as %q; want [n bytes]", m.N, f.Num, f.Value)
			case f.Num == 3 && m.Dir == DirIn && f.Meaning == "void":
				sawVoid = true
			case f.Num == 3 && m.Dir == DirIn && f.Meaning == "refund":
				sawRefund = true
			}
		}
		switch {
		case m.MTI == "0200" && m.Role == RoleUnanswered && m.Field(4) == "000000007770":
			sawUnanswered = true
		case m.MTI == "0400" && m.Role == RoleRequest && strings.HasPrefix(m.Field(90), "0200000016"):
			sawReversal = m.Fields[len(m.Fields)-1].Name == "Original Data Elements"
		}
	}
	if !sawVoid || !sawRefund || !sawUnanswered || !sawReversal {
		t.Errorf("void %v refund %v unanswered 77.70 sale %v its reversal %v; want all", sawVoid, sawRefund, sawUnanswered, sawReversal)
	}
}

// The host's own trace and the hex dump of the same session tell the same
// story as the capture.
func TestSessionSourcesAgree(t *testing.T) {
	capture := story(readFile(t, "testdata/session.pcapng", Options{}).Messages)
	for _, path := range []string{"testdata/session-host.jsonl", "testdata/session.hex"} {
		tr := readFile(t, path, Options{})
		if len(tr.Problems) > 0 {
			t.Errorf("%s: problems %v", path, tr.Problems)
		}
		got := story(tr.Messages)
		if strings.Join(got, "\n") != strings.Join(capture, "\n") {
			t.Errorf("%s tells\n%s\nthe capture tells\n%s", path, strings.Join(got, "\n"), strings.Join(capture, "\n"))
		}
	}
}
