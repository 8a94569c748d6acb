package acquirer

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/possim/possim/profile"
)

// A terminal naming a dialect possim does not have is refused with the
// profile's file and line and the valid names, by New as by CheckProfile.
func TestCheckProfileDialect(t *testing.T) {
	good, err := os.ReadFile("../../profile/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dialect, want string }{
		{"cup", ""},
		{"cupp", `unknown dialect "cupp"; valid: possim87, ascii4, nac, cup`},
	} {
		y := strings.Replace(string(good), "    software: \"2.1.0\"\n", "    software: \"2.1.0\"\n    dialect: "+c.dialect+"\n", 1)
		if y == string(good) {
			t.Fatal("no terminal software line in the default profile")
		}
		p, err := profile.Parse([]byte(y), "lab.yaml")
		if err != nil {
			t.Fatal(err)
		}
		err = CheckProfile(p)
		if c.want == "" {
			if err != nil {
				t.Errorf("dialect %s: %v", c.dialect, err)
			}
			continue
		}
		var pe *profile.Error
		if !errors.As(err, &pe) || pe.File != "lab.yaml" || pe.Line == 0 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dialect %s: %v; want lab.yaml:LINE: ... %s", c.dialect, err, c.want)
		}
		// New checks the profile before anything else, the ledger included.
		if _, err := New(t.Context(), Config{Profile: p}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New with dialect %s: %v; want %s", c.dialect, err, c.want)
		}
	}
}
