package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRunExitCodes: 0 all passed, 1 a scenario failed or nothing matched,
// 2 bad usage.
func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	feature := filepath.Join(dir, "exit.feature")
	const text = `Feature: Exit codes

  @passes
  Scenario: a lab starts
    Given a lab with the default profile

  @fails
  Scenario: no receipt
    Given a lab with the default profile
    Then 2 receipts were printed
`
	if err := os.WriteFile(feature, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"all pass", []string{feature, "--tags", "@passes"}, 0, "1 scenarios passed"},
		{"one fails", []string{feature}, 1, "1 of 2 scenarios did not pass"},
		{"nothing matches", []string{feature, "--tags", "@no-such-tag"}, 1, `no scenario matches the tags "@no-such-tag"`},
		{"nothing matches a shard", []string{feature, "--tags", "@no-such-tag", "--shard", "2/2"}, 1, `no scenario matches the tags "@no-such-tag"`},
		{"bad flag", []string{feature, "--no-such-flag"}, 2, "no-such-flag"},
		{"missing path", []string{filepath.Join(dir, "missing")}, 2, "missing"},
		{"bad format", []string{feature, "--format", "fancy"}, 2, `unknown format "fancy"`},
		{"bad concurrency", []string{feature, "--concurrency", "0"}, 2, "--concurrency 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"run", "--state", filepath.Join(t.TempDir(), "state.json")}, tt.args...)
			code := Main(t.Context(), args, &Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }})
			if code != tt.code || !strings.Contains(stderr.String(), tt.says) {
				t.Errorf("exit %d, want %d and %q on stderr:\n%s\n%s", code, tt.code, tt.says, stderr.String(), stdout.String())
			}
		})
	}
}

// TestRunIsParallelByDefault: each scenario is its own lab, so possim run
// runs several at once unless told otherwise.
func TestRunIsParallelByDefault(t *testing.T) {
	var stderr bytes.Buffer
	Main(t.Context(), []string{"run", "-h"}, &Env{Stdout: &stderr, Stderr: &stderr, Getenv: func(string) string { return "" }})
	m := regexp.MustCompile(`-concurrency int\n[^\n]*\(default (\d+)\)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no default for --concurrency in:\n%s", stderr.String())
	}
	if n, _ := strconv.Atoi(m[1]); n < 2 {
		t.Errorf("--concurrency defaults to %d, want several scenarios at once", n)
	}
}
