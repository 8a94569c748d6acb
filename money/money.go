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

// ErrSyntax says an amount is not written as digits with at most two decimals.
var ErrSyntax = errors.New("amount must look like 12.34, ¥12.34 or 1,234.50")

// Max is the largest amount possim accepts: twelve digits, as field 4 carries.
const Max int64 = 999_999_999_999

// Parse reads an amount in major units with up to two decimals, an optional
// currency sign (¥, CNY, RMB) and optional thousands separators.
func Parse(s string) (int64, error) {
	in := s
	s = strings.TrimSpace(s)
	for _, p := range []string{"¥", "￥", "CNY", "RMB"} {
		s = strings.TrimSpace(strings.TrimPrefix(s, p))
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	s = strings.ReplaceAll(s, ",", "")
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%q: %w", in, ErrSyntax)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if len(whole) > 10 {
		return 0, fmt.Errorf("%q: larger than %s", in, Format(Max))
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v > Max {
		return 0, fmt.Errorf("%q: larger than %s", in, Format(Max))
	}
	if neg {
		v = -v
	}
	return v, nil
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
