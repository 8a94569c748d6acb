package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/possim/possim/internal/sharktest"
)

// indepCapture is a capture of possim terminal talking to the independent
// host through the tap.
type indepCapture struct {
	path  string
	port  int // the tap's, the host port in the capture
	split bool
	glued bool
}

// splitAmount is the sale whose request the tap sends in 3 segments.
const splitAmount = "000000001234"

// captureIndepSession runs sign-on, an approved sale, a declined one, a
// sale left unanswered (timed out and reversed) and settlement through
// the tap. The tap cuts the 12.34 sale in 3 segments (the length header
// cut too) and holds the unanswered sale back to send it in one segment
// with the reversal that follows it.
func captureIndepSession(t *testing.T) *indepCapture {
	t.Helper()
	h := startIndepHost(t)
	ic := &indepCapture{}
	p := startShapingTap(t, h.addr(), func(up bool, data []byte) [][]byte {
		mti, amount, whole := firstFrame(data)
		switch {
		case !up:
		case !whole:
			return nil // the rest of the frame is on its way
		case mti == "0200" && amount == silentAmount && len(data) == frameLen(data):
			return nil // wait for the reversal
		case mti == "0200" && amount == silentAmount:
			ic.glued = true
		case mti == "0200" && amount == splitAmount && len(data) > 40:
			ic.split = true
			return [][]byte{data[:1], data[1:30], data[30:]}
		}
		return [][]byte{data}
	})
	ic.port = p.ln.Addr().(*net.TCPAddr).Port
	tap := p.ln.Addr().String()
	state := filepath.Join(t.TempDir(), "term.json")
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"signon"}, 0, "SIGNED ON"},
		{[]string{"sale", "--amount", "12.34", "--card", "visa-credit", "--entry", "chip", "--pin", "1234"}, 0, "SALE approved"},
		{[]string{"sale", "--amount", "45.60", "--card", "mc-debit", "--entry", "chip", "--pin", "1234"}, 1, "DECLINED 51"},
		{[]string{"sale", "--amount", "77.70", "--card", "visa-credit", "--entry", "chip", "--pin", "1234"}, 1, "SALE reversed"},
		{[]string{"settle"}, 0, "SETTLE"},
	}
	for _, s := range steps {
		if code, out := termCLI(t, tap, state, s.args...); code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("possim terminal %s: exit %d, want %d and %q:\n%s", strings.Join(s.args, " "), code, s.code, s.want, out)
		}
	}
	ic.path = p.close(t)
	if got := strings.Join(h.mtis(), " "); got != "0800 0800 0800 0200 0800 0200 0800 0200 0400 0800 0500" {
		t.Fatalf("the independent host read %s", got)
	}
	if !ic.split || !ic.glued {
		t.Fatalf("the tap split a frame: %v, glued two: %v; want both", ic.split, ic.glued)
	}
	return ic
}

// frameLen is the length of the first frame of data, header included.
func frameLen(data []byte) int {
	if len(data) < 2 {
		return 0
	}
	return 2 + int(binary.BigEndian.Uint16(data))
}

// firstFrame reads the MTI and amount (field 4) of the first frame of
// data; whole says it is all there (MTI and amount are "" when it does
// not parse).
func firstFrame(data []byte) (mti, amount string, whole bool) {
	n := frameLen(data)
	if n == 0 || len(data) < n {
		return "", "", false
	}
	mti, fields, err := parseIndep(data[2:n])
	if err != nil {
		return "", "", true
	}
	return mti, fields[4], true
}

// traceJSON is one line of possim trace show --json.
type traceJSON struct {
	N      int    `json:"n"`
	Where  string `json:"where"`
	MTI    string `json:"mti"`
	Role   string `json:"role"`
	Fields []struct {
		Num   int    `json:"num"`
		Value string `json:"value"`
	} `json:"fields"`
}

func showJSON(t *testing.T, capture string, port int) []traceJSON {
	t.Helper()
	code, out, errs := runMain("trace", "show", "--json", "--port", strconv.Itoa(port), capture)
	if code != 0 {
		t.Fatalf("trace show --json: exit %d\n%s", code, errs)
	}
	var msgs []traceJSON
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m traceJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestIndepHostCapture(t *testing.T) {
	ic := captureIndepSession(t)
	t.Run("show", func(t *testing.T) {
		code, out, errs := runMain("trace", "show", ic.path)
		if code != 0 {
			t.Fatalf("trace show: exit %d\n%s%s", code, out, errs)
		}
		for _, want := range []string{
			fmt.Sprintf("host port %d (listened (SYN))", ic.port),
			"in 0200 exchange 4 request (packet 13)", // its third segment
			"39 Response Code = 51 (INSUFFICIENT FUNDS)",
			"in 0200 exchange 8 unanswered (packet 25)",
			"in 0400 exchange 9 request (packet 25)", // the same segment
			"62 Reserved (Private) = [key under TMK] kcv=",
			"86 Credits, Amount = 1234",
			"summary: 21 messages, 11 exchanges, 1 unanswered, 0 unsolicited, 1 reversals, 0 malformed, 0 recorded but not sent; response codes: 00 APPROVED x9, 51 INSUFFICIENT FUNDS x1",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("trace show lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "4761739001010010") || strings.Contains(out, "5413330089010012") {
			t.Errorf("trace show has a PAN in clear:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		msgs := showJSON(t, ic.path, ic.port)
		var got []string
		for _, m := range msgs {
			got = append(got, m.MTI+"/"+m.Role)
		}
		want := "0800/request 0810/response 0800/request 0810/response 0800/request 0810/response 0200/request 0210/response " +
			"0800/request 0810/response 0200/request 0210/response 0800/request 0810/response 0200/unanswered " +
			"0400/request 0410/response 0800/request 0810/response 0500/request 0510/response"
		if strings.Join(got, " ") != want {
			t.Errorf("trace show --json reads\n%s\nwant\n%s", strings.Join(got, " "), want)
		}
	})
	t.Run("gap", func(t *testing.T) { testShowGap(t, ic) })
	t.Run("wireshark", func(t *testing.T) {
		ws := sharktest.Decode(t, ic.path, ic.port)
		n := compareShark(t, ws, showJSON(t, ic.path, ic.port))
		if n < 150 {
			t.Errorf("compared %d fields; the session has more", n)
		}
		t.Logf("%d messages, %d fields compared with Wireshark", len(ws), n)
	})
	// The same host, fresh: every exchange answers as recorded, the
	// unanswered sale too, and the PIN blocks are re-encrypted under the
	// new session key.
	t.Run("replay", func(t *testing.T) {
		h := startIndepHost(t)
		code, out, errs := runMain("replay", ic.path, "--port", strconv.Itoa(ic.port), "--host", h.addr(), "--as-fast")
		if code != 0 || !strings.Contains(out, "replay: 11 exchanges on 5 connections, 11 match, 0 differ") ||
			!strings.Contains(out, "exchange 8 conn 4 0200 STAN 000008: recorded no answer, got no answer: matches") ||
			strings.Count(out, "note: PIN block re-encrypted") != 3 {
			t.Fatalf("replay against the independent host: exit %d, want 0 and 11 matches:\n%s%s", code, out, errs)
		}
		if got := strings.Join(h.mtis(), " "); got != "0800 0800 0800 0200 0800 0200 0800 0200 0400 0800 0500" {
			t.Errorf("the replay sent %s", got)
		}
	})
	// possim host with no faults, fresh STANs and times: the times, RRNs,
	// approval codes and session keys differ as always and are not
	// failed; what differs is the host. It approves the card the
	// independent host declined and answers the sale it left unanswered,
	// so settlement, which carries the terminal's totals (one sale), does
	// not balance with its journal (two) and is 95; and it echoes fields
	// the independent host does not (55, 60, 63 and the totals). Exit 1.
	t.Run("replay possim host", func(t *testing.T) {
		r := start(t, "host", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "host.db"))
		addr, _ := r.waitLine(t, "possim host listening on ")
		code, out, errs := runMain("replay", ic.path, "--host", addr, "--fresh-keys", "--as-fast", "--json")
		if code != 1 {
			t.Fatalf("replay --fresh-keys against possim host: exit %d, want 1\n%s%s", code, out, errs)
		}
		type diff struct {
			Num      int    `json:"num"`
			Recorded string `json:"recorded"`
			Got      string `json:"got"`
		}
		var matched []int
		rc := map[int]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(line, `{"connections"`) {
				continue // the totals
			}
			var x struct {
				Exchange int    `json:"exchange"`
				Stan     string `json:"stan"`
				SentStan string `json:"sent_stan"`
				Got      string `json:"got"`
				Match    bool   `json:"match"`
				Diffs    []diff `json:"diffs"`
				Always   []diff `json:"differ_as_always"`
			}
			if err := json.Unmarshal([]byte(line), &x); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			if x.Match {
				matched = append(matched, x.Exchange)
			}
			if x.SentStan == "" || x.SentStan == x.Stan {
				t.Errorf("exchange %d sent with STAN %q, recorded %s: want a fresh one", x.Exchange, x.SentStan, x.Stan)
			}
			for _, d := range x.Diffs {
				switch d.Num {
				case 7, 11, 12, 13, 37, 62:
					t.Errorf("exchange %d: field %d failed (%q, %q); --fresh-keys and the always-differing fields should not", x.Exchange, d.Num, d.Recorded, d.Got)
				case 39:
					rc[x.Exchange] = d.Recorded + ">" + d.Got
				}
			}
			if x.Got != "no answer" && x.Exchange == 8 {
				rc[8] = "none>" + x.Got
			}
		}
		if fmt.Sprint(matched) != "[1 3 5 7 10]" {
			t.Errorf("exchanges matching: %v, want the sign-ons and echoes [1 3 5 7 10]", matched)
		}
		if want := map[int]string{6: "51>00", 8: "none>0210 00", 11: "00>95"}; fmt.Sprint(rc) != fmt.Sprint(want) {
			t.Errorf("answers differing: %v, want %v", rc, want)
		}
	})
}
