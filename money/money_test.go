package money

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"12.34", 1234}, {"¥12.34", 1234}, {"1,234.50", 123450}, {"100", 10000},
		{"0.5", 50}, {"CNY 3.50", 350}, {"-1.00", -100}, {"50,000.00", 5000000},
	} {
		got, err := Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "abc", "1.234", "1.", ".5", "12,34.x", "99999999999999.00"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded; want an error", bad)
		} else if bad != "99999999999999.00" && !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v; want ErrSyntax", bad, err)
		}
	}
}

func TestFormat(t *testing.T) {
	if got := Format(1234); got != "12.34" {
		t.Errorf("Format(1234) = %q", got)
	}
	if got := Format(-5); got != "-0.05" {
		t.Errorf("Format(-5) = %q", got)
	}
	if got := FormatGrouped(20000000); got != "200,000.00" {
		t.Errorf("FormatGrouped = %q", got)
	}
}

func TestFeeBPS(t *testing.T) {
	for _, c := range []struct{ amount, bps, want int64 }{
		{10000, 60, 60}, {10000, 38, 38}, {12345, 60, 74}, // 74.07 -> 74
		{125, 60, 1}, {83, 60, 0}, // 0.498 -> 0; 0.75 -> 1
		{250, 38, 1}, // 0.95 -> 1
	} {
		if got := FeeBPS(c.amount, c.bps); got != c.want {
			t.Errorf("FeeBPS(%d, %d) = %d; want %d", c.amount, c.bps, got, c.want)
		}
	}
}
