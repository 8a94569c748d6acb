package iso

import "testing"

func TestDescribeField(t *testing.T) {
	tests := []struct {
		mti  string
		n    int
		v    string
		want string
	}{
		{"0210", 39, "00", "39 response code = 00 (approved)"},
		{"0210", 39, "51", "39 response code = 51 (insufficient funds)"},
		{"0400", 39, "68", "39 response code = 68 (reversal: response received too late)"},
		{"0200", 22, "051", "22 POS entry mode = 051 (chip, PIN)"},
		{"0200", 22, "072", "22 POS entry mode = 072 (contactless, no PIN)"},
		{"0200", 3, "000000", "3 processing code = 000000 (purchase)"},
		{"0800", 70, "001", "70 network management information code = 001 (sign-on)"},
		{"0200", 11, "000123", "11 systems trace audit number (STAN) = 000123"},
		{"0200", 2, "476173******0010", "2 primary account number = 476173******0010"},
		{"0200", 41, "TERM0001", "41 card acceptor terminal identification = TERM0001"},
		{"0200", 199, "x", "199 field 199 = x"},
	}
	for _, tt := range tests {
		if got := DescribeField(tt.mti, tt.n, tt.v); got != tt.want {
			t.Errorf("DescribeField(%q, %d, %q) = %q, want %q", tt.mti, tt.n, tt.v, got, tt.want)
		}
	}
}

func TestIsResponse(t *testing.T) {
	for mti, want := range map[string]bool{"0110": true, "0210": true, "0810": true, "0200": false, "0400": false, "0401": false, "21": false} {
		if got := IsResponse(mti); got != want {
			t.Errorf("IsResponse(%q) = %v, want %v", mti, got, want)
		}
	}
}

// TestGlossaryAgrees: the glossary a client names fields with says what
// DescribeField says.
func TestGlossaryAgrees(t *testing.T) {
	g := NewGlossary()
	for _, c := range []struct {
		n    int
		v    string
		want string
	}{{39, "05", FieldMeaning("0210", 39, "05")}, {22, "071", "contactless, PIN"}, {3, "200000", "refund"}, {70, "301", "echo test"}} {
		if got := g.Codes[c.n][c.v]; got != c.want {
			t.Errorf("glossary field %d %q = %q, want %q", c.n, c.v, got, c.want)
		}
	}
	if g.Fields[39] != "response code" || g.MTIs["0400"] != "reversal" || g.Reversal["68"] == "" {
		t.Errorf("glossary: field 39 %q, 0400 %q, reversal 68 %q", g.Fields[39], g.MTIs["0400"], g.Reversal["68"])
	}
}
