package harness

import (
	"strings"
	"unicode/utf8"
)

// table lays out the demo's tables: each column as wide as its widest
// cell, so a long value (an 18-digit payment code beside 16-digit PANs)
// widens its column instead of pushing the cells after it out of line.
type table struct {
	right []bool // per column: right-aligned (amounts)
	rows  [][]string
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// lines returns the rows laid out, each starting with indent.
func (t *table) lines(indent string) []string {
	var width []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	out := make([]string, 0, len(t.rows))
	for _, r := range t.rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i < len(t.right) && t.right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}
