// Package money parses and formats amounts held as int64 minor units (fen
// for CNY). possim never keeps money in floating point: a profile, a step
// argument and a receipt all go through these two functions so that
// "12.34", "¥12.34" and "1,234.50" mean the same thing everywhere.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax says an amount is not written as digits with at most two
// decimals; errors.Is finds it in every *SyntaxError.
var ErrSyntax = errors.New("amount must look like 12.34, ¥12.34 or 1,234.50")

// ErrNotPositive says a payment amount is zero or negative.
var ErrNotPositive = errors.New("amount must be positive")

// Max is the largest amount possim accepts: twelve digits, as field 4 carries.
const Max int64 = 999_999_999_999

// SyntaxError is an amount possim cannot read, with how to write it.
type SyntaxError struct {
	Input string // as given
	Hint  string // what is wrong and how to write it instead
	Comma bool   // the hint is about a comma; else it adds to ErrSyntax's text
}

func (e *SyntaxError) Error() string {
	if e.Comma {
		return fmt.Sprintf("amount %q: %s", e.Input, e.Hint)
	}
	if e.Hint != "" {
		return fmt.Sprintf("%v, %s, not %q", ErrSyntax, e.Hint, e.Input)
	}
	return fmt.Sprintf("%v, not %q", ErrSyntax, e.Input)
}

// Is makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// Parse reads an amount in major units: an optional currency sign (¥, ￥,
// CNY or RMB), an optional minus, the whole units with or without
// thousands separators, and up to two decimals. A comma only ever
// separates thousands, in groups of exactly three digits, so "12,34" (a
// decimal comma elsewhere) is an error rather than 1,234.00.
func Parse(s string) (int64, error) {
	in := s
	s = strings.TrimSpace(s)
	for _, p := range []string{"¥", "￥", "CNY", "RMB"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = strings.TrimLeft(rest, " ")
			break
		}
	}
	neg := false
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		s, neg = rest, true
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if strings.Contains(whole, ",") {
		w, err := ungroup(in, whole, hasDot)
		if err != nil {
			return 0, err
		}
		whole = w
	}
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || !digits(whole) || !digits(frac) {
		e := &SyntaxError{Input: in}
		if len(frac) > 2 && digits(frac) && digits(whole) && whole != "" {
			e.Hint = "at most two decimals (fen)"
		}
		return 0, e
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if len(strings.TrimLeft(whole, "0")) > 10 {
		return 0, fmt.Errorf("amount %q: larger than %s", in, FormatGrouped(Max))
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v > Max {
		return 0, fmt.Errorf("amount %q: larger than %s", in, FormatGrouped(Max))
	}
	if neg {
		v = -v
	}
	return v, nil
}

// ParsePositive is Parse for what is paid, refunded or authorised: zero
// and negative amounts are refused with ErrNotPositive.
func ParsePositive(s string) (int64, error) {
	v, err := Parse(s)
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, fmt.Errorf("%w: got %q", ErrNotPositive, s)
	}
	return v, nil
}

// ungroup checks whole's thousands separators (1,234 or 12,345,678) and
// drops them; a comma anywhere else is an error that says how to write
// the amount, guessing a decimal comma when it looks like one.
func ungroup(in, whole string, hasDot bool) (string, error) {
	groups := strings.Split(whole, ",")
	ok := len(groups[0]) >= 1 && len(groups[0]) <= 3 && digits(groups[0])
	for _, g := range groups[1:] {
		ok = ok && len(g) == 3 && digits(g)
	}
	if ok {
		return strings.Join(groups, ""), nil
	}
	hint := "a comma may only separate thousands, in groups of three digits (1,234.50)"
	if len(groups) == 2 && !hasDot && len(groups[1]) >= 1 && len(groups[1]) <= 2 && digits(groups[1]) {
		if yuan, err := strconv.ParseUint(groups[0], 10, 32); err == nil {
			fen, _ := strconv.Atoi(groups[1])
			if len(groups[1]) == 1 {
				fen *= 10
			}
			hint = fmt.Sprintf("a comma may only separate thousands (1,234.50); write %d.%02d for %d yuan %d fen", yuan, fen, yuan, fen)
		}
	}
	return "", &SyntaxError{Input: in, Hint: hint, Comma: true}
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Format writes minor units as major units with two decimals: 1234 -> "12.34".
func Format(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// FormatGrouped writes thousands separators too: 5000000 -> "50,000.00".
func FormatGrouped(v int64) string {
	s := Format(v)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String() + "." + frac
}

// FeeBPS is the fee on amount at rate bps (hundredths of a percent),
// rounded half-up to the minor unit: 10000 at 60 bps is 60.
func FeeBPS(amount, bps int64) int64 {
	if amount < 0 {
		return -FeeBPS(-amount, bps)
	}
	return (amount*bps + 5000) / 10000
}
