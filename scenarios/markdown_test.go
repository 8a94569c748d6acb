package scenarios

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/steps.md")

// TestStepsDocIsCurrent keeps docs/steps.md equal to `possim steps --markdown`.
func TestStepsDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "steps.md")
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./scenarios -run TestStepsDocIsCurrent -update)", err)
	}
	if string(got) != want {
		t.Errorf("docs/steps.md is stale; run: go test ./scenarios -run TestStepsDocIsCurrent -update")
	}
}

// TestVocabulary checks every step: a pattern that compiles, an example
// that the pattern matches, and no two patterns matching one example.
func TestVocabulary(t *testing.T) {
	steps := Vocabulary()
	res := make([]*regexp.Regexp, len(steps))
	for i, s := range steps {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			t.Fatalf("%s: %v", s.Pattern, err)
		}
		res[i] = re
	}
	for i, s := range steps {
		if s.Domain == "" || s.Example == "" || s.Fn == nil {
			t.Errorf("%s: needs a domain, an example and a function", s.Pattern)
			continue
		}
		line := strings.SplitN(s.Example, "\n", 2)[0]
		for _, kw := range []string{"Given ", "When ", "Then ", "And ", "But "} {
			line = strings.TrimPrefix(line, kw)
		}
		if !res[i].MatchString(line) {
			t.Errorf("example %q does not match its own pattern %s", line, s.Pattern)
		}
		for j, re := range res {
			if j != i && re.MatchString(line) {
				t.Errorf("example %q matches two steps: %s and %s", line, s.Pattern, steps[j].Pattern)
			}
		}
	}
}
