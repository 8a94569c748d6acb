package money

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"12.34", 1234}, {"¥12.34", 1234}, {"1,234.50", 123450}, {"100", 10000},
		{"0.5", 50}, {"CNY 3.50", 350}, {"-1.00", -100}, {"50,000.00", 5000000},
		{"12,345,678.00", 1234567800}, {"1,234", 123400}, {"RMB12", 1200}, {"￥ 0.01", 1},
		{"9,999,999,999.99", Max}, {"0", 0},
	} {
		got, err := Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct {
		in, msg string // msg: the whole error text
	}{
		{"12,34", `amount "12,34": a comma may only separate thousands (1,234.50); write 12.34 for 12 yuan 34 fen`},
		{"12,3", `amount "12,3": a comma may only separate thousands (1,234.50); write 12.30 for 12 yuan 30 fen`},
		{"1,23,4", `amount "1,23,4": a comma may only separate thousands, in groups of three digits (1,234.50)`},
		{"1,2345", `amount "1,2345": a comma may only separate thousands, in groups of three digits (1,234.50)`},
		{"1234,567.00", `amount "1234,567.00": a comma may only separate thousands, in groups of three digits (1,234.50)`},
		{",123", `amount ",123": a comma may only separate thousands, in groups of three digits (1,234.50)`},
		{"12,34.5", `amount "12,34.5": a comma may only separate thousands, in groups of three digits (1,234.50)`},
		{"", `amount must look like 12.34, ¥12.34 or 1,234.50, not ""`},
		{"abc", `amount must look like 12.34, ¥12.34 or 1,234.50, not "abc"`},
		{"1.234", `amount must look like 12.34, ¥12.34 or 1,234.50, at most two decimals (fen), not "1.234"`},
		{"1.", `amount must look like 12.34, ¥12.34 or 1,234.50, not "1."`},
		{".5", `amount must look like 12.34, ¥12.34 or 1,234.50, not ".5"`},
		{"CNY¥1", `amount must look like 12.34, ¥12.34 or 1,234.50, not "CNY¥1"`},
	} {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded; want %s", c.in, c.msg)
			continue
		}
		if err.Error() != c.msg {
			t.Errorf("Parse(%q) = %q; want %q", c.in, err, c.msg)
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v; want ErrSyntax", c.in, err)
		}
	}
	if _, err := Parse("99999999999999.00"); err == nil || errors.Is(err, ErrSyntax) {
		t.Errorf("Parse of a too-large amount = %v; want a size error", err)
	}
}

func TestParsePositive(t *testing.T) {
	for _, in := range []string{"0", "0.00", "-1.00", "¥-12.34"} {
		_, err := ParsePositive(in)
		if !errors.Is(err, ErrNotPositive) || !strings.Contains(err.Error(), "amount must be positive") {
			t.Errorf("ParsePositive(%q) = %v; want ErrNotPositive", in, err)
		}
	}
	if v, err := ParsePositive("0.01"); v != 1 || err != nil {
		t.Errorf("ParsePositive(0.01) = %d, %v", v, err)
	}
	if _, err := ParsePositive("12,34"); !errors.Is(err, ErrSyntax) {
		t.Errorf("ParsePositive(12,34) = %v; want ErrSyntax", err)
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

func TestDecimalJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		Amount   Decimal `json:"amount"`
		Currency string  `json:"currency"`
	}{-1234, Currency})
	if err != nil || string(b) != `{"amount":"-12.34","currency":"CNY"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var d Decimal
	if err := json.Unmarshal([]byte(`"1,234.50"`), &d); err != nil || d != 123450 {
		t.Errorf("Unmarshal = %d, %v", d, err)
	}
	for _, bad := range []string{`1234`, `"12,34"`, `null1`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}
