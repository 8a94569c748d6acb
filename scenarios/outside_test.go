package scenarios

import "testing"

func TestWithTag(t *testing.T) {
	for _, tc := range []struct{ expr, tag, want string }{
		{"", "@external-pos", "@external-pos"},
		{"@wired", "~@external-pos", "@wired && ~@external-pos"},
		{"@a, @b && ~@c", "@external-pos", "@a && @external-pos, @b && ~@c && @external-pos"},
	} {
		if got := withTag(tc.expr, tc.tag); got != tc.want {
			t.Errorf("withTag(%q, %q) = %q, want %q", tc.expr, tc.tag, got, tc.want)
		}
	}
}

// TestNeedsTerminalNamesSteps: every device step listed as needing the
// lab's terminal exists, so a pattern edited on one side only cannot
// quietly let that step run with the POS outside.
func TestNeedsTerminalNamesSteps(t *testing.T) {
	found := map[string]bool{}
	for _, s := range Vocabulary() {
		if needsTerminal[s.Pattern] {
			found[s.Pattern] = true
			if s.Outside {
				t.Errorf("%s is marked Outside", s.Pattern)
			}
		}
	}
	for p := range needsTerminal {
		if !found[p] {
			t.Errorf("needsTerminal names no step: %s", p)
		}
	}
}
