package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/simulators/acquirer"
)

// TestCheckIdleEchoes: echoes on time pass; too early, too late, missing
// or unanswered ones fail, naming the echo.
func TestCheckIdleEchoes(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	echo := func(s float64, stan string) []acquirer.Event {
		f := map[string]string{"11": stan, "41": "TERM0001", "70": "301"}
		a := map[string]string{"11": stan, "41": "TERM0001", "70": "301", "39": "00"}
		return []acquirer.Event{{Time: at(s), Dir: "in", MTI: "0800", Fields: f}, {Time: at(s + 0.01), Dir: "out", MTI: "0810", RespCode: "00", Fields: a}}
	}
	seq := func(parts ...[]acquirer.Event) []acquirer.Event {
		var out []acquirer.Event
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	unanswered := echo(3, "000002")[:1]
	for _, tc := range []struct {
		name string
		evs  []acquirer.Event
		end  float64
		want string // "" passes
	}{
		{"every 3 s", seq(echo(0, "000001"), echo(3, "000002"), echo(6, "000003")), 8, ""},
		{"within the tolerance", seq(echo(0, "000001"), echo(3.8, "000002"), echo(6.1, "000003")), 8, ""},
		{"too often", seq(echo(0, "000001"), echo(1, "000002"), echo(4, "000003")), 6, "echo test STAN 000002 came 1.0 s after"},
		{"silent too long", seq(echo(0, "000001"), echo(5, "000002")), 7, "idle 5.0 s before 0800 000002"},
		{"stopped echoing", seq(echo(0, "000001"), echo(3, "000002")), 9, "idle 6.0 s at the end"},
		{"no echo after the first message", echo(0, "000001"), 3, "no echo test (0800, 70=301) after 3s idle"},
		{"unanswered", seq(echo(0, "000001"), unanswered), 5, "echo test STAN 000002 was not answered 00"},
		{"nothing", nil, 8, "sent nothing while idle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkIdleEchoes(tc.evs, 3*time.Second, time.Second, at(tc.end))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want a pass, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

// TestCheckKeyChange: the key change must come after the host asked and
// before the next sale, and that sale's PIN must pass under the new key.
func TestCheckKeyChange(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	n := 0
	msg := func(dir, mti, stan string, f map[string]string) acquirer.Event {
		n++
		fields := map[string]string{"11": stan, "41": "TERM0001"}
		for k, v := range f {
			fields[k] = v
		}
		return acquirer.Event{Time: t0.Add(time.Duration(n) * time.Second), Dir: dir, MTI: mti, RespCode: fields["39"], Fields: fields}
	}
	sale := func(stan, code string, f53 string) []acquirer.Event {
		ans := map[string]string{"39": code}
		if f53 != "" {
			ans["53"] = f53
		}
		return []acquirer.Event{msg("in", "0200", stan, map[string]string{"3": "000000", "52": "[8 bytes]"}), msg("out", "0210", stan, ans)}
	}
	keyChange := func(stan, code string) []acquirer.Event {
		return []acquirer.Event{msg("in", "0800", stan, map[string]string{"70": "101"}),
			msg("out", "0810", stan, map[string]string{"70": "101", "39": code, "62": "[key block] KCV 123456"})}
	}
	seq := func(parts ...[]acquirer.Event) []acquirer.Event {
		var out []acquirer.Event
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	const asks = acquirer.KeyChangeRequired
	for _, tc := range []struct {
		name             string
		evs              []acquirer.Event
		change, underNew string // "" passes
	}{
		{"changed, then approved", seq(sale("000001", "00", asks), keyChange("000002", "00"), sale("000003", "00", "")), "", ""},
		{"never asked", seq(sale("000001", "00", ""), sale("000002", "00", "")), "the host never asked", "no key change"},
		{"sale before the key change", seq(sale("000001", "00", asks), sale("000002", "00", asks), keyChange("000003", "00"), sale("000004", "00", "")),
			"the terminal sent 0200 STAN 000002 purchase without changing its key first", ""},
		{"key change declined", seq(sale("000001", "00", asks), keyChange("000002", "96"), sale("000003", "00", "")), "answered 96", ""},
		{"PIN under the old key", seq(sale("000001", "00", asks), keyChange("000002", "00"), sale("000003", "55", "")), "", "did not load the key of field 62"},
		{"no sale yet", seq(sale("000001", "00", asks), keyChange("000002", "00")), "", "no sale after the key change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []struct {
				check func([]acquirer.Event) error
				want  string
			}{{checkKeyChange, tc.change}, {checkSaleUnderNewKey, tc.underNew}} {
				err := c.check(tc.evs)
				switch {
				case c.want == "" && err != nil:
					t.Errorf("want a pass, got %v", err)
				case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
					t.Errorf("want an error with %q, got %v", c.want, err)
				}
			}
		})
	}
}
