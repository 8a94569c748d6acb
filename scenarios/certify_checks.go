package scenarios

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

// errFinal marks a check that can no longer pass however long it waits:
// the terminal did something it must not.
var errFinal = errors.New("final")

// waitFor runs check until it passes, fails for good (errFinal), or the
// window is over; the last error says why.
func (cc *certCase) waitFor(ctx context.Context, window time.Duration, check func([]acquirer.Event) error) error {
	deadline := time.Now().Add(window)
	for {
		err := check(cc.events())
		if err == nil {
			return nil
		}
		if errors.Is(err, errFinal) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// final makes a check's error final.
func final(format string, a ...any) error {
	return &finalError{fmt.Errorf(format, a...)}
}

type finalError struct{ err error }

func (e *finalError) Error() string        { return e.err.Error() }
func (e *finalError) Is(target error) bool { return target == errFinal }

// answerOf is the host's answer to req that went on the wire. A repeat
// (0401 after 0400) carries the same STAN and has the same answer type, so
// an answer after the next request with req's STAN belongs to that one.
func answerOf(evs []acquirer.Event, req acquirer.Event) (acquirer.Event, bool) {
	resp := iso.ResponseMTI(req.MTI)
	same := func(ev acquirer.Event) bool {
		return ev.Fields["11"] == req.Fields["11"] && ev.Fields["41"] == req.Fields["41"]
	}
	seen := false
	for _, ev := range evs {
		switch {
		case !seen:
			seen = ev.Dir == "in" && ev.Time.Equal(req.Time) && ev.MTI == req.MTI && same(ev)
		case ev.Dir == "in" && same(ev):
			return acquirer.Event{}, false
		case ev.Dir == "out" && ev.MTI == resp && same(ev) && !notSent(ev):
			return ev, true
		}
	}
	return acquirer.Event{}, false
}

func isFinancial(mti string) bool {
	return mti == iso.MTIFinancialRequest || mti == iso.MTIAuthRequest || mti == iso.MTIAdvice
}

func isReversal(mti string) bool { return mti == iso.MTIReversal || mti == iso.MTIReversalRepeat }

// describe is a request in one line for an error.
func describe(ev acquirer.Event) string {
	s := ev.MTI + " STAN " + ev.Fields["11"]
	if p := ev.Fields["3"]; p != "" {
		s += " " + firstNonEmpty(iso.ProcessingMeaning(p), p)
	}
	if a := ev.Fields["4"]; a != "" {
		s += " amount " + a
	}
	return s
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

// fieldName is a field's name in the possim87 spec: "Transaction Amount".
func fieldName(id int) string { return iso.SpecFieldName(iso.Spec87, id) }

// meaning says what a field's value stands for, where possim knows: what
// iso.CodeMeaning says, and for field 90 the message a reversal undoes.
func meaning(mti string, id int, v string) string {
	if id == 90 {
		if omti, stan, dt, err := iso.ParseOriginalData(v); err == nil {
			return fmt.Sprintf("original %s STAN %s sent %s", omti, stan, dt)
		}
		return ""
	}
	return iso.CodeMeaning(mti, id, v)
}

// evidenceOf writes every message of the case with its fields by name.
func evidenceOf(evs []acquirer.Event) []string {
	var out []string
	for _, ev := range evs {
		var b strings.Builder
		dir := "terminal → host"
		if ev.Dir == "out" {
			dir = "host → terminal"
		}
		fmt.Fprintf(&b, "%s  %s  %s", ev.Time.Format("15:04:05.000"), dir, ev.MTI)
		if ev.Note != "" {
			fmt.Fprintf(&b, "  (%s)", ev.Note)
		}
		if ev.Dir == "in" {
			if _, ok := answerOf(evs, ev); !ok {
				b.WriteString("  — not answered")
			}
		}
		for _, id := range sortedFieldIDs(ev.Fields) {
			v := ev.Fields[strconv.Itoa(id)]
			fmt.Fprintf(&b, "\n  %3d  %-38s %s", id, fieldName(id), v)
			if m := meaning(ev.MTI, id, v); m != "" {
				fmt.Fprintf(&b, "  (%s)", m)
			}
		}
		out = append(out, b.String())
	}
	return out
}

func sortedFieldIDs(f map[string]string) []int {
	var ids []int
	for i := 2; i <= 128; i++ {
		if _, ok := f[strconv.Itoa(i)]; ok {
			ids = append(ids, i)
		}
	}
	return ids
}

// wellFormed: the fields each request type must carry, and the format of
// the fields possim87 fixes.
var (
	requiredFields = map[string][]int{
		iso.MTIFinancialRequest: {3, 4, 7, 11, 22, 41, 42, 49},
		iso.MTIAuthRequest:      {3, 4, 7, 11, 22, 41, 42, 49},
		iso.MTIAdvice:           {3, 4, 7, 11, 41, 42, 49},
		iso.MTIReversal:         {3, 4, 7, 11, 39, 41, 42, 90},
		iso.MTIReversalRepeat:   {3, 4, 7, 11, 39, 41, 42, 90},
		iso.MTIBatchUpload:      {3, 4, 11, 41, 42},
		iso.MTIReconcile:        {11, 41, 60, 74, 76, 86, 88},
		iso.MTINetworkRequest:   {7, 11, 41, 70},
	}
	fieldFormats = map[int]*regexp.Regexp{
		3:  regexp.MustCompile(`^\d{6}$`),
		4:  regexp.MustCompile(`^\d{12}$`),
		7:  regexp.MustCompile(`^(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])([01]\d|2[0-3])[0-5]\d[0-5]\d$`),
		11: regexp.MustCompile(`^\d{6}$`),
		12: regexp.MustCompile(`^([01]\d|2[0-3])[0-5]\d[0-5]\d$`),
		13: regexp.MustCompile(`^(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$`),
		22: regexp.MustCompile(`^\d{3}$`),
		39: regexp.MustCompile(`^[0-9A-Z]{2}$`),
		41: regexp.MustCompile(`^.{8}$`),
		42: regexp.MustCompile(`^.{15}$`),
		49: regexp.MustCompile(`^\d{3}$`),
		90: regexp.MustCompile(`^\d{42}$`),
	}
)

// malformed lists what is wrong with one request, by field name.
func malformed(ev acquirer.Event) []string {
	var bad []string
	for _, id := range requiredFields[ev.MTI] {
		if _, ok := ev.Fields[strconv.Itoa(id)]; !ok {
			bad = append(bad, fmt.Sprintf("field %d (%s) missing", id, fieldName(id)))
		}
	}
	for _, id := range sortedFieldIDs(ev.Fields) {
		re, ok := fieldFormats[id]
		if v := ev.Fields[strconv.Itoa(id)]; ok && !re.MatchString(v) {
			bad = append(bad, fmt.Sprintf("field %d (%s) %q does not match %s", id, fieldName(id), v, re))
		}
	}
	return bad
}

// match checks one value of a field table: a literal, /regexp/,
// (present) or (absent).
func matchValue(want string, got string, present bool) bool {
	switch {
	case want == "(present)":
		return present
	case want == "(absent)":
		return !present
	case len(want) > 1 && strings.HasPrefix(want, "/") && strings.HasSuffix(want, "/"):
		re, err := regexp.Compile("^(?:" + want[1:len(want)-1] + ")$")
		return err == nil && present && re.MatchString(got)
	}
	return present && got == want
}

// lastRequest is the case's last request of type mti.
func lastRequest(evs []acquirer.Event, mti string) (acquirer.Event, bool) {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Dir == "in" && evs[i].MTI == mti {
			return evs[i], true
		}
	}
	return acquirer.Event{}, false
}

// fieldTable reads | field | value | rows; the field cell may carry its
// name after the number ("4 amount").
func fieldTable(t *godog.Table) (ids []int, values []string, err error) {
	for i, r := range t.Rows {
		if len(r.Cells) != 2 {
			return nil, nil, fmt.Errorf("row %d: want | field | value |", i+1)
		}
		f := strings.Fields(r.Cells[0].Value)
		if len(f) == 0 {
			return nil, nil, fmt.Errorf("row %d: empty field cell", i+1)
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			if i == 0 {
				continue // the header
			}
			return nil, nil, fmt.Errorf("row %d: field %q: want a field number (2-128)", i+1, r.Cells[0].Value)
		}
		ids, values = append(ids, id), append(values, r.Cells[1].Value)
	}
	return ids, values, nil
}

// withoutCertify adds ~@certify to every alternative of a tag expression
// (godog's: "," is or, "&&" is and): possim run leaves the certify plan,
// which needs a real terminal, out.
func withoutCertify(expr string) string {
	if strings.TrimSpace(expr) == "" {
		return "~@certify"
	}
	alts := strings.Split(expr, ",")
	for i, a := range alts {
		alts[i] = strings.TrimSpace(a) + " && ~@certify"
	}
	return strings.Join(alts, ", ")
}
