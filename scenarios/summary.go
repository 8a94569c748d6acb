package scenarios

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// summarize prints the run's end: the counts, every scenario that did not
// pass with the file:line that reruns it and its first error line, and for
// each undefined step the known steps nearest to it.
func (c *collector) summarize(w io.Writer, res *Result) {
	byStatus := map[string]int{}
	steps := map[string]int{}
	nSteps := 0
	for _, s := range res.Scenarios {
		byStatus[s.Status]++
		for _, st := range s.Steps {
			steps[st.Status]++
			nSteps++
		}
	}
	fmt.Fprintf(w, "\n%d scenarios (%s)\n", len(res.Scenarios), counts(byStatus))
	fmt.Fprintf(w, "%d steps (%s)\n", nSteps, counts(steps))
	fmt.Fprintln(w, res.Elapsed.Round(time.Millisecond))

	var bad []string
	for _, s := range res.Scenarios {
		if s.Status == "passed" {
			continue
		}
		line := fmt.Sprintf("  %s   %s: %s (%s)", s.URI, s.Feature, s.Name, s.Status)
		for _, st := range s.Steps {
			if st.Status != "passed" {
				line += "\n      at: " + st.Text
				break
			}
		}
		if s.Error != "" {
			// Enough of the error to see what went wrong; the full one
			// is in the scenario's block above and in the reports.
			lines := strings.Split(strings.TrimRight(s.Error, "\n"), "\n")
			if len(lines) > 8 {
				lines = append(lines[:8], "...")
			}
			line += "\n" + indent(strings.Join(lines, "\n"), "      ")
		}
		bad = append(bad, line)
	}
	if len(bad) > 0 {
		rerun := "possim run FILE:LINE"
		if c.opts.certify != nil {
			rerun = "possim certify --plan FILE:LINE"
		}
		fmt.Fprintf(w, "\nScenarios that did not pass (rerun one with %s):\n%s\n", rerun, strings.Join(bad, "\n"))
	}

	c.mu.Lock()
	undefined := append([]undefinedStep(nil), c.undefined...)
	c.mu.Unlock()
	if len(undefined) == 0 {
		return
	}
	if c.opts.certify != nil {
		fmt.Fprintf(w, "\n%d undefined step(s); docs/certify.md lists every step of possim certify.\n", len(undefined))
	} else {
		fmt.Fprintf(w, "\n%d undefined step(s); `possim steps` lists every step possim knows.\n", len(undefined))
	}
	seen := map[string]bool{}
	for _, u := range undefined {
		c.mu.Lock()
		file, _, _ := strings.Cut(u.uri, ":")
		at := fmt.Sprintf("%s:%d", file, c.stepLineLocked(u.step))
		c.mu.Unlock()
		fmt.Fprintf(w, "  %q   %s\n", u.text, at)
		if seen[u.text] {
			continue
		}
		seen[u.text] = true
		near := Suggest(u.text, 3)
		if c.opts.certify != nil {
			near = suggestFrom(certifySteps(), u.text, 3)
		}
		if len(near) == 0 {
			fmt.Fprintln(w, "      no known step is close")
			continue
		}
		fmt.Fprintln(w, "      did you mean:")
		for _, s := range near {
			fmt.Fprintf(w, "        %s\n", s.Example)
		}
	}
}

// counts writes "3 passed, 1 failed" in a fixed order.
func counts(m map[string]int) string {
	var parts []string
	for _, s := range []string{"passed", "failed", "ambiguous", "undefined", "pending", "skipped"} {
		if m[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[s], s))
		}
	}
	return strings.Join(parts, ", ")
}
