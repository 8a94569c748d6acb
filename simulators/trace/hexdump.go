package trace

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// hexLine is one line of a hex dump: `[timestamp] [IN|OUT|>|<] HEX`.
type hexLine struct {
	Time      time.Time
	TimeOfDay bool   // the stamp had no date
	Dir       string // DirIn, DirOut or "" when the line does not say
	Raw       []byte
}

// timeLayouts are the timestamps hex dumps carry: RFC 3339 as possim
// writes, and the date-space-time and time-only forms of host logs.
var timeLayouts = []struct {
	layout string
	words  int
}{
	{time.RFC3339Nano, 1},
	{"2006-01-02 15:04:05.999999999", 2},
	{"2006/01/02 15:04:05.999999999", 2},
	{"15:04:05.999999999", 1},
}

// parseHexLine reads one line. The direction is the host's: IN and `<`
// reached the logger, OUT and `>` were sent by it.
func parseHexLine(s string) (hexLine, error) {
	var l hexLine
	words := strings.Fields(s)
	for _, tl := range timeLayouts {
		if len(words) < tl.words {
			continue
		}
		stamp := strings.Trim(strings.Join(words[:tl.words], " "), "[]")
		if t, err := time.Parse(tl.layout, stamp); err == nil {
			l.Time, words = t, words[tl.words:]
			l.TimeOfDay = t.Year() == 0
			break
		}
	}
	if len(words) > 0 {
		switch strings.ToUpper(strings.Trim(words[0], "[]:")) {
		case "IN", "<":
			l.Dir, words = DirIn, words[1:]
		case "OUT", ">":
			l.Dir, words = DirOut, words[1:]
		}
	}
	h := strings.Join(words, "")
	if h == "" {
		return l, errors.New("no hex bytes on the line")
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return l, fmt.Errorf("not hex (want [timestamp] [IN|OUT|>|<] HEX): %w", err)
	}
	l.Raw = raw
	return l, nil
}

// readHexDump reads one message per line, with or without the length
// header. Blank lines and lines starting with # are skipped.
func readHexDump(r io.Reader, opts Options) (*Trace, error) {
	t := &Trace{Format: FormatHexDump}
	d := opts.Dialect
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		where := "line " + strconv.Itoa(n)
		l, err := parseHexLine(s)
		if err != nil {
			t.Problems = append(t.Problems, Problem{Where: where, Err: err})
			continue
		}
		m := &Message{Time: l.Time, TimeOfDay: l.TimeOfDay, Conn: "dump", Dir: l.Dir, Where: where}
		// The line holds the frame with its length header when the header
		// says exactly the rest of the line; else it starts at the TPDU
		// (or the application header, or the message).
		if hs := lengthSize(d.Framing.Length); hs > 0 && len(l.Raw) > hs {
			if n, err := frameSize(d, l.Raw); err == nil && n == len(l.Raw) {
				decodeFrame(d, m, l.Raw)
			} else {
				decodeLine(d, m, l.Raw)
			}
		} else {
			decodeLine(d, m, l.Raw)
		}
		if m.Dir == "" && len(m.MTI) == 4 {
			// The line does not say: a request goes to the host.
			m.Dir = DirIn
			if isResponse(m.MTI) {
				m.Dir = DirOut
			}
		}
		t.Messages = append(t.Messages, m)
	}
	if err := sc.Err(); err != nil {
		return t, fmt.Errorf("reading hex dump: %w", err)
	}
	if len(t.Messages) == 0 && len(t.Problems) > 0 {
		return nil, fmt.Errorf("no line could be read as a hex dump; %w", t.Problems[0])
	}
	return t, nil
}
