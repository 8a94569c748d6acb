package scenarios

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/cucumber/godog"
)

// TagExternalPOS (without its @) marks the scenarios written for a POS
// outside possim run (--pos external): only they run then, and every
// other run leaves them out, since no one would drive their customer.
const TagExternalPOS = "external-pos"

// ErrOutsidePOS fails a step that needs the lab's own terminal in a run
// whose POS software is outside.
var ErrOutsidePOS = errors.New("this step drives the lab's terminal; with --pos external the POS software is outside possim run")

// withTag adds tag ("@x" or "~@x") to every alternative of a godog tag
// expression ("," is or, "&&" is and).
func withTag(expr, tag string) string {
	if strings.TrimSpace(expr) == "" {
		return tag
	}
	alts := strings.Split(expr, ",")
	for i, a := range alts {
		alts[i] = strings.TrimSpace(a) + " && " + tag
	}
	return strings.Join(alts, ", ")
}

// outsideOnly is a before-step hook that fails every step not marked
// Outside, before it runs: such a step would reach for a terminal, host
// or ledger the lab does not have.
func outsideOnly(steps []Step) godog.BeforeStepHook {
	type entry struct {
		re      *regexp.Regexp
		outside bool
	}
	var list []entry
	for _, s := range steps {
		list = append(list, entry{regexp.MustCompile(s.Pattern), s.Outside})
	}
	return func(ctx context.Context, st *godog.Step) (context.Context, error) {
		for _, e := range list {
			if e.re.MatchString(st.Text) && !e.outside {
				return ctx, fmt.Errorf("%q: %w", st.Text, ErrOutsidePOS)
			}
		}
		return ctx, nil
	}
}
