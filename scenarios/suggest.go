package scenarios

import (
	"sort"
	"strings"
)

// Suggest returns up to n steps of the vocabulary nearest to an undefined
// step's text, nearest first: the examples `possim steps` prints, ranked
// by edit distance once their Given/When/Then is set aside.
func Suggest(text string, n int) []Step { return suggestFrom(Vocabulary(), text, n) }

// suggestFrom is Suggest over a step set (possim certify has its own).
func suggestFrom(steps []Step, text string, n int) []Step {
	type scored struct {
		s Step
		d int
	}
	want := strings.ToLower(strings.TrimSpace(text))
	var all []scored
	for _, s := range steps {
		all = append(all, scored{s, distance(want, strings.ToLower(stripKeyword(s.Example)))})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].d < all[j].d })
	var out []Step
	for _, sc := range all {
		// Past half the text changed, a step is no longer "nearly" it.
		if len(out) == n || sc.d > max(len(want), 8)/2+4 {
			break
		}
		out = append(out, sc.s)
	}
	return out
}

// stripKeyword drops the leading Given/When/Then/And/But of an example.
func stripKeyword(example string) string {
	first, rest, ok := strings.Cut(strings.TrimSpace(example), " ")
	switch first {
	case "Given", "When", "Then", "And", "But", "*":
		if ok {
			return rest
		}
	}
	return example
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
