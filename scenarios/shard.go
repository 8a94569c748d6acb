package scenarios

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Unit is one scenario of a feature file: file:line and its tags (the
// feature's and its own).
type Unit struct {
	Ref  string
	Tags []string
}

// HasTag says whether the unit carries a tag such as "@wired".
func (u Unit) HasTag(tag string) bool {
	for _, t := range u.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Units lists every scenario of the paths as file:line, sorted, an outline
// counting once: the units that shards split and go test runs one by one.
func Units(paths []string) ([]string, error) {
	us, err := ScenarioUnits(paths)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Ref
	}
	return out, nil
}

// ScenarioUnits is Units with each scenario's tags.
func ScenarioUnits(paths []string) ([]Unit, error) {
	var units []Unit
	for _, p := range paths {
		p, _, _ = strings.Cut(p, ":")
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".feature") {
				return nil
			}
			us, err := scanFeature(path)
			units = append(units, us...)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("listing scenarios: %w", err)
		}
	}
	sort.Slice(units, func(i, j int) bool { return units[i].Ref < units[j].Ref })
	return units, nil
}

// scanFeature finds the scenario lines and tags of a feature file without
// a full Gherkin parse: tags are the @words on the lines just above.
func scanFeature(path string) ([]Unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		units       []Unit
		featureTags []string
		pending     []string
		inFeature   bool
	)
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		t := strings.TrimSpace(s.Text())
		switch {
		case strings.HasPrefix(t, "@"):
			pending = append(pending, strings.Fields(t)...)
		case strings.HasPrefix(t, "Feature:"):
			featureTags, pending, inFeature = pending, nil, true
		case inFeature && (strings.HasPrefix(t, "Scenario:") || strings.HasPrefix(t, "Scenario Outline:") ||
			strings.HasPrefix(t, "Scenario Template:") || strings.HasPrefix(t, "Example:")):
			tags := append(append([]string(nil), featureTags...), pending...)
			units = append(units, Unit{Ref: path + ":" + strconv.Itoa(n), Tags: tags})
			pending = nil
		case t == "" || strings.HasPrefix(t, "#"):
		default:
			if !strings.HasPrefix(t, "Examples:") {
				pending = nil
			}
		}
	}
	return units, s.Err()
}

// Shard returns the units of shard i of n (1-based), dealt round-robin
// over the sorted units so every unit lands in exactly one shard.
func Shard(units []string, i, n int) []string {
	var out []string
	for k, u := range units {
		if k%n == i-1 {
			out = append(out, u)
		}
	}
	return out
}

// ParseShard reads "i/n".
func ParseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("bad shard %q: write it as i/n with 1 <= i <= n, e.g. 2/3", s)
	}
	return i, n, nil
}

// matchTags says whether a scenario with these tags passes a godog tag
// expression ("@a,@b" either, "@a && ~@b" both), the way godog reads it:
// shards split what the tags select before godog sees it.
func matchTags(expr string, tags []string) bool {
	if strings.TrimSpace(expr) == "" {
		return true
	}
	has := func(tag string) bool {
		for _, t := range tags {
			if strings.TrimPrefix(t, "@") == tag {
				return true
			}
		}
		return false
	}
	for _, alt := range strings.Split(expr, ",") {
		all := true
		for _, term := range strings.Split(alt, "&&") {
			term = strings.ReplaceAll(strings.TrimSpace(term), "@", "")
			if neg, ok := strings.CutPrefix(term, "~"); ok {
				all = all && !has(neg)
			} else {
				all = all && term != "" && has(term)
			}
		}
		if all {
			return true
		}
	}
	return false
}
