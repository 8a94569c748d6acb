package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListenFlag(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string // String() after the flags, or the error's text
		bad  bool
	}{
		{"bare", []string{"127.0.0.1:8583"}, "127.0.0.1:8583", false},
		{"one per dialect", []string{"127.0.0.1:8583=possim87", "127.0.0.1:8584=cup"}, "127.0.0.1:8583=possim87,127.0.0.1:8584=cup", false},
		{"bare and named", []string{":8583", ":8584=nac"}, ":8583,:8584=nac", false},
		{"port 0 twice", []string{"127.0.0.1:0=possim87", "127.0.0.1:0=cup"}, "127.0.0.1:0=possim87,127.0.0.1:0=cup", false},
		{"unknown dialect", []string{"127.0.0.1:8583=klingon"}, `unknown dialect "klingon"; built-in dialects: possim87, ascii4, nac, cup`, true},
		{"no dialect after =", []string{"127.0.0.1:8583="}, "no dialect after '='; built-in dialects: possim87, ascii4, nac, cup", true},
		{"no address", []string{"=cup"}, "no address", true},
		{"no port", []string{"localhost=cup"}, `address "localhost"`, true},
		{"address twice", []string{"127.0.0.1:8583=possim87", "127.0.0.1:8583=cup"}, "address 127.0.0.1:8583 given twice", true},
		{"missing dialect file", []string{"127.0.0.1:8583=nope.yaml"}, "nope.yaml", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f listenFlag
			var err error
			for _, a := range c.args {
				if err = f.Set(a); err != nil {
					break
				}
			}
			switch {
			case c.bad && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("Set(%q) = %v; want an error with %q", c.args, err, c.want)
			case !c.bad && err != nil:
				t.Errorf("Set(%q) = %v", c.args, err)
			case !c.bad && f.String() != c.want:
				t.Errorf("String() = %q; want %q", f.String(), c.want)
			}
		})
	}
}

// TestHostListenBadForms: possim host exits 2 on a bad --listen, naming
// the valid dialects, before it creates a database.
func TestHostListenBadForms(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "host.db")
	for _, c := range []struct {
		name, listen, want string
	}{
		{"unknown dialect", "127.0.0.1:0=klingon", "possim87, ascii4, nac, cup"},
		{"empty dialect", "127.0.0.1:0=", "possim87, ascii4, nac, cup"},
	} {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := Main(ctx, []string{"host", "--db", db, "--listen", "127.0.0.1:0", "--listen", c.listen}, &Env{Stdout: &out, Stderr: &out})
		cancel()
		if code != 2 || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: exit %d, output %q; want exit 2 naming %q", c.name, code, out.String(), c.want)
		}
	}
	var out bytes.Buffer
	args := []string{"host", "--db", db, "--listen", "127.0.0.1:18583=possim87", "--listen", "127.0.0.1:18583=cup"}
	if code := Main(context.Background(), args, &Env{Stdout: &out, Stderr: &out}); code != 2 || !strings.Contains(out.String(), "given twice") {
		t.Errorf("address twice: exit %d, output %q; want exit 2", code, out.String())
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a bad --listen left %s behind (%v)", db, err)
	}

	// A profile whose terminal names a dialect possim does not have is bad
	// input, named with its file and line.
	good, err := os.ReadFile("../../profile/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "lab.yaml")
	y := strings.Replace(string(good), "    software: \"2.1.0\"\n", "    software: \"2.1.0\"\n    dialect: cupp\n", 1)
	if err := os.WriteFile(prof, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := Main(context.Background(), []string{"host", "--db", db, "--listen", "127.0.0.1:0", "--profile", prof}, &Env{Stdout: &out, Stderr: &out}); code != 2 ||
		!strings.Contains(out.String(), prof+":") || !strings.Contains(out.String(), `unknown dialect "cupp"`) {
		t.Errorf("profile with an unknown dialect: exit %d, output %q; want exit 2 naming %s:LINE", code, out.String(), prof)
	}
}
