package scenarios

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/cucumber/godog"
	"github.com/cucumber/godog/formatters"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/possim/possim/harness"
)

// godog looks formatters up by name in its own process-wide registry and
// builds them with only the suite's name and a writer. possim's formatters
// are registered once, here, and find the run they print for by that
// name, which Run makes unique: the one bridge from godog's registry to a
// run, removed when the run ends.
var runsBySuite sync.Map // suite name -> *collector

func init() {
	godog.Format("possim-pretty", "each scenario and its steps, one block per scenario, no Go locations",
		func(suite string, out io.Writer) godog.Formatter { return newText(suite, out, true) })
	godog.Format("possim-progress", "one character per step",
		func(suite string, out io.Writer) godog.Formatter { return newText(suite, out, false) })
	godog.Format("possim-index", "records where each scenario and step is written; prints nothing",
		func(suite string, out io.Writer) godog.Formatter { return newText(suite, io.Discard, false) })
}

// text prints scenarios as possim's "pretty" and "progress" formats. godog
// prints a Go file:line after every step and Go snippets for undefined
// steps: useful to whoever writes Go, noise to whoever writes features.
// Pretty keeps each scenario's lines together, even when scenarios run at
// once: it buffers a scenario and writes it whole when its last step is in.
type text struct {
	c      *collector
	out    io.Writer
	pretty bool

	mu          sync.Mutex
	open        map[string]*scenarioBuf // by pickle id
	lastFeature string
	dots        int
}

type scenarioBuf struct {
	buf   bytes.Buffer
	steps int // steps reported so far
}

func newText(suite string, out io.Writer, pretty bool) *text {
	c, _ := runsBySuite.Load(suite)
	t := &text{out: out, pretty: pretty, open: map[string]*scenarioBuf{}}
	t.c, _ = c.(*collector)
	return t
}

// TestRunStarted implements formatters.Formatter.
func (t *text) TestRunStarted() {}

// Feature records where the feature's scenarios and steps are written.
func (t *text) Feature(gd *messages.GherkinDocument, uri string, _ []byte) {
	if t.c != nil {
		t.c.index(gd, uri)
	}
}

// Pickle starts a scenario's block.
func (t *text) Pickle(p *messages.Pickle) {
	if !t.pretty {
		return
	}
	b := &scenarioBuf{}
	feature, keyword, ref := "", "Scenario", p.Uri
	if t.c != nil {
		feature, keyword, ref = t.c.describe(p)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if feature != t.lastFeature {
		t.lastFeature = feature
		fmt.Fprintf(&b.buf, "\nFeature: %s\n", feature)
	}
	fmt.Fprintf(&b.buf, "\n  %s: %s   # %s\n", keyword, p.Name, ref)
	t.open[p.Id] = b
	if len(p.Steps) == 0 {
		t.flush(p.Id)
	}
}

// Defined implements formatters.Formatter.
func (t *text) Defined(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition) {}

// Passed implements formatters.Formatter.
func (t *text) Passed(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	t.step(p, s, "passed", '.', nil)
}

// Skipped implements formatters.Formatter.
func (t *text) Skipped(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	t.step(p, s, "skipped", '-', nil)
}

// Undefined implements formatters.Formatter.
func (t *text) Undefined(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	t.step(p, s, "undefined", 'U', nil)
}

// Pending implements formatters.Formatter.
func (t *text) Pending(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	t.step(p, s, "pending", 'P', nil)
}

// Failed implements formatters.Formatter.
func (t *text) Failed(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition, err error) {
	t.step(p, s, "failed", 'F', err)
}

// Ambiguous implements formatters.Formatter.
func (t *text) Ambiguous(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition, err error) {
	t.step(p, s, "ambiguous", 'A', err)
}

// Summary writes what is still buffered; Run prints the run's summary.
func (t *text) Summary() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.open {
		t.flush(id)
	}
	if !t.pretty && t.dots%70 != 0 {
		fmt.Fprintf(t.out, "%s %d\n", strings.Repeat(" ", 70-t.dots%70), t.dots)
	}
}

func (t *text) step(p *messages.Pickle, s *messages.PickleStep, status string, dot byte, err error) {
	if t.out == io.Discard {
		return
	}
	if !t.pretty {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.out.Write([]byte{dot})
		if t.dots++; t.dots%70 == 0 {
			fmt.Fprintf(t.out, " %d\n", t.dots)
		}
		return
	}
	keyword := ""
	if t.c != nil {
		keyword = t.c.keyword(s)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.open[p.Id]
	if b == nil {
		return
	}
	line := "    " + keyword + s.Text
	if status != "passed" {
		line += "   (" + status + ")"
	}
	fmt.Fprintln(&b.buf, line)
	if a := s.Argument; a != nil && a.DataTable != nil {
		writeTable(&b.buf, a.DataTable)
	}
	if a := s.Argument; a != nil && a.DocString != nil {
		fmt.Fprintf(&b.buf, "      \"\"\"\n%s\n      \"\"\"\n", indent(a.DocString.Content, "      "))
	}
	if err != nil {
		fmt.Fprintln(&b.buf, indent(err.Error(), "      "))
	}
	if b.steps++; b.steps >= len(p.Steps) {
		t.flush(p.Id)
	}
}

// flush writes a scenario's block. Called with t.mu held.
func (t *text) flush(id string) {
	if b := t.open[id]; b != nil {
		t.out.Write(b.buf.Bytes())
		delete(t.open, id)
	}
}

func writeTable(w io.Writer, tb *messages.PickleTable) {
	var width []int
	for _, r := range tb.Rows {
		for i, c := range r.Cells {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(c.Value)))
		}
	}
	for _, r := range tb.Rows {
		cells := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			cells[i] = c.Value + strings.Repeat(" ", width[i]-len([]rune(c.Value)))
		}
		fmt.Fprintf(w, "      | %s |\n", strings.Join(cells, " | "))
	}
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+by)
}

// where is what the index knows of one Gherkin node.
type where struct {
	line    int64
	keyword string // steps and scenarios
	feature string // scenarios
	example string // example rows: "header = value, ..."
}

// index records, for every scenario, example row and step of a parsed
// feature, the line it is written on: godog's scenarios and steps carry
// only the ids of these nodes.
func (c *collector) index(gd *messages.GherkinDocument, uri string) {
	if gd == nil || gd.Feature == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	steps := func(ss []*messages.Step) {
		for _, s := range ss {
			c.nodes[s.Id] = where{line: s.Location.Line, keyword: s.Keyword}
		}
	}
	scenario := func(s *messages.Scenario) {
		c.nodes[s.Id] = where{line: s.Location.Line, keyword: s.Keyword, feature: gd.Feature.Name}
		steps(s.Steps)
		for _, ex := range s.Examples {
			for _, r := range ex.TableBody {
				c.nodes[r.Id] = where{line: r.Location.Line, example: exampleValues(ex.TableHeader, r)}
			}
		}
	}
	for _, ch := range gd.Feature.Children {
		switch {
		case ch.Background != nil:
			steps(ch.Background.Steps)
		case ch.Scenario != nil:
			scenario(ch.Scenario)
		case ch.Rule != nil:
			for _, rc := range ch.Rule.Children {
				if rc.Background != nil {
					steps(rc.Background.Steps)
				}
				if rc.Scenario != nil {
					scenario(rc.Scenario)
				}
			}
		}
	}
}

// exampleValues is an example row as "header = value" pairs, the values
// that tell apart the scenarios of one outline.
func exampleValues(header, row *messages.TableRow) string {
	if header == nil || row == nil {
		return ""
	}
	pairs := make([]string, 0, len(row.Cells))
	for i, c := range row.Cells {
		if i < len(header.Cells) {
			pairs = append(pairs, header.Cells[i].Value+" = "+c.Value)
		}
	}
	return strings.Join(pairs, ", ")
}

// exampleLocked is the example row a scenario was made from, "" for a
// plain scenario. Called with c.mu held.
func (c *collector) exampleLocked(ast []string) string {
	if len(ast) < 2 {
		return ""
	}
	return c.nodes[ast[len(ast)-1]].example
}

// stepReport is a step as the HTML report shows it: keyword, text,
// outcome, and its data table or doc string. Called with c.mu held.
func (c *collector) stepReportLocked(st *messages.PickleStep, status string, err error) harness.StepReport {
	sr := harness.StepReport{Text: st.Text, Status: status}
	if len(st.AstNodeIds) > 0 {
		sr.Keyword = c.nodes[st.AstNodeIds[0]].keyword
	}
	if err != nil {
		sr.Error = err.Error()
	}
	if a := st.Argument; a != nil && a.DataTable != nil {
		for _, r := range a.DataTable.Rows {
			row := make([]string, len(r.Cells))
			for i, cell := range r.Cells {
				row[i] = cell.Value
			}
			sr.Table = append(sr.Table, row)
		}
	}
	if a := st.Argument; a != nil && a.DocString != nil {
		sr.DocString = a.DocString.Content
	}
	return sr
}

// describe gives a scenario's feature name, keyword and file:line (the
// example row's line for an outline's example: the line that reruns it).
func (c *collector) describe(p *messages.Pickle) (feature, keyword, ref string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.describeLocked(p.Uri, p.AstNodeIds)
}

func (c *collector) describeLocked(uri string, ast []string) (feature, keyword, ref string) {
	keyword, ref = "Scenario", uri
	if len(ast) == 0 {
		return "", keyword, ref
	}
	sc, ok := c.nodes[ast[0]]
	if !ok {
		return "", keyword, ref
	}
	line := sc.line
	if len(ast) > 1 {
		if row, ok := c.nodes[ast[len(ast)-1]]; ok {
			line = row.line
		}
	}
	return sc.feature, strings.TrimSpace(sc.keyword), fmt.Sprintf("%s:%d", uri, line)
}

// keyword is a step's keyword as written ("Given ", "And ").
func (c *collector) keyword(s *messages.PickleStep) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(s.AstNodeIds) == 0 {
		return ""
	}
	return c.nodes[s.AstNodeIds[0]].keyword
}

// stepLine is where a step is written.
func (c *collector) stepLineLocked(s *messages.PickleStep) int64 {
	if len(s.AstNodeIds) == 0 {
		return 0
	}
	return c.nodes[s.AstNodeIds[0]].line
}
