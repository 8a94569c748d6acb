package money

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// refAmount is the rule written a second way: one regexp for the whole
// syntax, so FuzzParse catches Parse accepting what the rule refuses (or
// the reverse) and reading a different value.
var refAmount = regexp.MustCompile(`^(?:¥|￥|CNY|RMB)? *(-?)([0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.([0-9]{1,2}))?$`)

// refParse returns the amount the rule reads, and whether it reads one
// (too large counts as not read).
func refParse(s string) (int64, bool) {
	m := refAmount.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	whole := strings.TrimLeft(strings.ReplaceAll(m[2], ",", ""), "0")
	if len(whole) > 10 {
		return 0, false
	}
	frac := (m[3] + "00")[:2]
	v, err := strconv.ParseInt("0"+whole+frac, 10, 64)
	if err != nil || v > Max {
		return 0, false
	}
	if m[1] == "-" {
		v = -v
	}
	return v, true
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"12.34", "¥12.34", "1,234.50", "12,34", "1,23,4", "1,2345", "12,345,678.00",
		"CNY 3.50", "-1.00", "RMB-0.5", "0", "9,999,999,999.99", "10,000,000,000.00", "00000000001.00", " ¥ 1 ", "1.", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		want, ok := refParse(s)
		if ok != (err == nil) || got != want {
			t.Fatalf("Parse(%q) = %d, %v; the rule reads %d, %v", s, got, err, want, ok)
		}
		if err == nil {
			// What Format writes, Parse reads back the same.
			if back, err := Parse(Format(got)); err != nil || back != got {
				t.Fatalf("Parse(Format(%d)) = %d, %v", got, back, err)
			}
			if back, err := Parse(FormatGrouped(got)); err != nil || back != got {
				t.Fatalf("Parse(FormatGrouped(%d)) = %d, %v", got, back, err)
			}
		}
	})
}
