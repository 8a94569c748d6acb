package possimtest

import (
	"testing"

	"github.com/possim/possim/simulators/acquirer"
)

// Field 39 says why in a reversal and what the host answered in a
// response: the same code is read two ways.
func TestMessageMeaningOfField39(t *testing.T) {
	tests := []struct {
		mti, code, want string
	}{
		{"0400", "98", "reversal: no response from the host"},
		{"0410", "00", "APPROVED"},
		{"0210", "51", "INSUFFICIENT FUNDS"},
	}
	for _, tt := range tests {
		m := message(acquirer.Event{MTI: tt.mti, Fields: map[string]string{"39": tt.code}})
		f, ok := m.Field(39)
		if !ok || f.Meaning != tt.want {
			t.Errorf("%s field 39 %s: meaning %q, want %q", tt.mti, tt.code, f.Meaning, tt.want)
		}
	}
}
