package main

import (
	"bytes"
	"context"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
)

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestUnknownFlagIsOneLine: a bad flag is named once with where the usage
// is, exit 2, for every subcommand (it used to print the whole usage and
// then the error a second time).
func TestUnknownFlagIsOneLine(t *testing.T) {
	for _, name := range append(commandNames(), "ledger statement") {
		args := append(strings.Fields(name), "-x")
		if name == "ledger statement" {
			args = []string{"ledger", "--db", "x.db", "statement", "-x"}
		}
		code, stdout, stderr := runMain(args...)
		want := "possim " + strings.Fields(name)[0] + ": flag provided but not defined: -x\nrun 'possim " + name + " -h' for usage\n"
		if code != 2 || stdout != "" || stderr != want {
			t.Errorf("possim %s -x: exit %d, stdout %q, stderr %q; want exit 2 and stderr %q", name, code, stdout, stderr, want)
		}
	}
	code, _, stderr := runMain("load", "--timeout", "soon")
	if code != 2 || strings.Count(stderr, "\n") != 2 || !strings.Contains(stderr, `invalid value "soon" for flag -timeout`) {
		t.Errorf("possim load --timeout soon: exit %d, stderr %q", code, stderr)
	}
}

// TestHelpShowsDurations: -h names a duration flag's value "duration"
// (host's showed "-idle-timeout long").
func TestHelpShowsDurations(t *testing.T) {
	odd := regexp.MustCompile(`(?m)^  -(\S*(?:timeout|every|window|duration|run)) (\S+)$`)
	seen := 0
	for _, name := range commandNames() {
		code, _, stderr := runMain(name, "-h")
		if code != 0 || !strings.Contains(stderr, "usage: possim "+name) {
			t.Errorf("possim %s -h: exit %d\n%s", name, code, stderr)
		}
		for _, m := range odd.FindAllStringSubmatch(stderr, -1) {
			seen++
			if m[2] != "duration" {
				t.Errorf("possim %s -h shows -%s %s; want -%s duration", name, m[1], m[2], m[1])
			}
		}
	}
	if seen < 5 {
		t.Errorf("only %d duration flags found in -h output", seen)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, _ := runMain(args...)
		if code != 0 || !strings.HasPrefix(stdout, "possim ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("possim %s: exit %d, %q", args[0], code, stdout)
		}
	}
	bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/possim/possim", Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-30T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionLine(bi), "possim github.com/possim/possim v1.2.3 git 0123abcd 2026-11-30T12:00:00Z modified"; got != want {
		t.Errorf("versionLine = %q; want %q", got, want)
	}
	if got, want := versionLine(&debug.BuildInfo{Main: debug.Module{Path: "github.com/possim/possim"}}), "possim github.com/possim/possim (devel) (no VCS revision stamped)"; got != want {
		t.Errorf("versionLine = %q; want %q", got, want)
	}
}
