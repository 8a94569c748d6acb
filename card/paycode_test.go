package card

import "testing"

func TestMaskPaymentCode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"281234567890123456", "2812**********3456"},
		{"123456789", "1234*6789"},
		{"12345678", "********"},
		{"", ""},
	} {
		if got := MaskPaymentCode(c.in); got != c.want {
			t.Errorf("MaskPaymentCode(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}
