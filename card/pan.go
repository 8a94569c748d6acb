package card

import "strings"

// MaskPAN shows the first 6 and last 4 digits of a PAN and stars the rest,
// the form PCI DSS allows in logs and receipts. Anything that is not 12 to 19
// digits is masked entirely, so a malformed value cannot leak through.
func MaskPAN(pan string) string {
	if !isDigits(pan) || len(pan) < 12 || len(pan) > 19 {
		return strings.Repeat("*", len(pan))
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}

// Luhn reports whether pan is all digits (at least two) and passes the
// ISO/IEC 7812 mod-10 check.
func Luhn(pan string) bool {
	if len(pan) < 2 || !isDigits(pan) {
		return false
	}
	sum := 0
	double := false
	for i := len(pan) - 1; i >= 0; i-- {
		d := int(pan[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MaskPaymentCode shows the first 4 and last 4 characters of a QR payment
// code and stars the rest; a code of 8 characters or fewer is starred
// whole. The terminal's receipt and log, the host's trace and the ledger
// all mask codes with this one function, so a code reads the same in each.
func MaskPaymentCode(code string) string {
	if len(code) <= 8 {
		return strings.Repeat("*", len(code))
	}
	return code[:4] + strings.Repeat("*", len(code)-8) + code[len(code)-4:]
}
