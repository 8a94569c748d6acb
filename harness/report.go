package harness

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// ScenarioReport is what the HTML report shows of one scenario.
type ScenarioReport struct {
	Feature string
	Name    string
	// Example is the example row of a scenario outline's scenario as
	// "header = value" pairs ("card = visa-credit, rc = 51"), "" for a
	// plain scenario: it tells apart the rows of one outline.
	Example string
	URI     string
	Status  string   // passed, failed, skipped, undefined, pending
	Tags    []string // "@sale", the feature's tags included
	Started time.Time
	Elapsed time.Duration // wall clock
	// SimTime is how far the lab's clock moved over the scenario, which a
	// time scale or synctest sets apart from Elapsed.
	SimTime  time.Duration
	Steps    []StepReport
	Ladder   []Event
	Receipts []string
	Ledger   []string
	Error    string // for a failure: the message, with its go-cmp diff
	Dropped  uint64 // timeline events dropped past the recorder's bound
	// Evidence is what a certify case saw, one block each: the messages
	// with their field names, the operator's output.
	Evidence []string
}

// StepReport is one step's outcome.
type StepReport struct {
	Keyword   string // as written: "Given ", "And "
	Text      string
	Status    string
	Error     string
	Table     [][]string // the step's data table, header row first
	DocString string     // the step's doc string
}

// RunSummary heads the report.
type RunSummary struct {
	Title   string
	Seed    int64
	Passed  int
	Failed  int
	Other   int
	Elapsed string
}

// reportGroup is the scenarios of one feature file, in the order given.
type reportGroup struct {
	File      string // features/transactions/sale.feature
	Feature   string
	Scenarios []pageScenario
	Passed    int
	Failed    int
	Other     int
}

// pageScenario is a scenario as placed in the page: Anchor is the id of
// its element, which the timeline links to.
type pageScenario struct {
	ScenarioReport
	Anchor string
}

// groupByFile groups scenarios by the feature file of their URI: the
// groups with a failure first, and in each group its failures first, so
// a reader sees what broke without scrolling; otherwise files and
// scenarios keep the order given.
func groupByFile(scenarios []ScenarioReport) []*reportGroup {
	var groups []*reportGroup
	byFile := map[string]*reportGroup{}
	for _, s := range scenarios {
		file := FeatureFile(s.URI)
		g := byFile[file]
		if g == nil {
			g = &reportGroup{File: file, Feature: s.Feature}
			byFile[file] = g
			groups = append(groups, g)
		}
		g.Scenarios = append(g.Scenarios, pageScenario{ScenarioReport: s})
		switch statusClass(s.Status) {
		case "passed":
			g.Passed++
		case "failed":
			g.Failed++
		default:
			g.Other++
		}
	}
	failedFirst := func(failed func(int) bool, n int) []int {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch fa, fb := failed(a), failed(b); {
			case fa && !fb:
				return -1
			case fb && !fa:
				return 1
			}
			return 0
		})
		return idx
	}
	for _, g := range groups {
		sc := g.Scenarios
		idx := failedFirst(func(i int) bool { return statusClass(sc[i].Status) == "failed" }, len(sc))
		g.Scenarios = make([]pageScenario, len(sc))
		for i, j := range idx {
			g.Scenarios[i] = sc[j]
		}
	}
	idx := failedFirst(func(i int) bool { return groups[i].Failed > 0 }, len(groups))
	ordered := make([]*reportGroup, len(groups))
	n := 0
	for i, j := range idx {
		ordered[i] = groups[j]
		for k := range ordered[i].Scenarios {
			n++
			ordered[i].Scenarios[k].Anchor = "s" + strconv.Itoa(n)
		}
	}
	return ordered
}

// allTags are the tags of the scenarios, sorted, each once: the choices
// of the report's tag filter.
func allTags(scenarios []ScenarioReport) []string {
	var tags []string
	for _, s := range scenarios {
		tags = append(tags, s.Tags...)
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

// FeatureFile is the feature file of a scenario's URI: the URI without
// its ":line".
func FeatureFile(uri string) string {
	if i := strings.LastIndexByte(uri, ':'); i > 0 {
		if _, err := strconv.Atoi(uri[i+1:]); err == nil {
			return uri[:i]
		}
	}
	return uri
}

// statusClass is the filter a status falls under: passed, failed, or
// skipped for everything else (skipped, undefined, pending).
func statusClass(status string) string {
	switch status {
	case "passed", "failed":
		return status
	}
	return "skipped"
}

// searchText is what the report's search box matches a scenario against.
func searchText(s pageScenario) string {
	parts := []string{s.Feature, s.Name, s.Example, s.URI, s.Status, strings.Join(s.Tags, " ")}
	for _, st := range s.Steps {
		parts = append(parts, st.Text)
	}
	return strings.ToLower(strings.Join(parts, " "))
}

// WriteHTML writes one self-contained HTML page: the scenarios grouped by
// feature file with a search box and status filters; per scenario its
// steps with their data tables and doc strings, the message ladder
// terminal <-> host drawn as SVG with fields named, the receipts as
// printed, the ledger lines, and for a failure the diff. No external
// scripts, styles or fonts, so the file can be mailed or archived.
func WriteHTML(w io.Writer, sum RunSummary, scenarios []ScenarioReport) error {
	groups := groupByFile(scenarios)
	var inPage []pageScenario
	for _, g := range groups {
		inPage = append(inPage, g.Scenarios...)
	}
	return reportTmpl.Execute(w, struct {
		Sum      RunSummary
		Total    int
		Groups   []*reportGroup
		Tags     []string
		Timeline template.HTML
	}{sum, len(scenarios), groups, allTags(scenarios), timelineSVG(inPage)})
}

// ladderSVG draws the message ladder: two lifelines and one arrow per
// message, requests left to right, responses right to left, each arrow
// labelled with the message type and its fields named beneath it.
func ladderSVG(events []Event) template.HTML {
	if len(events) == 0 {
		return ""
	}
	const width, left, right, line = 720, 90, 630, 14
	type row struct {
		e      Event
		y      int
		fields []string
	}
	rows := make([]row, len(events))
	y := 44
	for i, e := range events {
		rows[i] = row{e: e, y: y, fields: LadderFields(e)}
		y += 22 + line*len(rows[i].fields)
	}
	h := y + 6
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="ladder" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, width, h, width, h)
	b.WriteString(`<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L8,4 L0,8 z" fill="#444"/></marker></defs>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" text-anchor="middle" class="who">terminal</text><text x="%d" y="16" text-anchor="middle" class="who">host</text>`, left, right)
	fmt.Fprintf(&b, `<line x1="%d" y1="24" x2="%d" y2="%d" class="life"/><line x1="%d" y1="24" x2="%d" y2="%d" class="life"/>`, left, left, h, right, right, h)
	for _, r := range rows {
		e := r.e
		x1, x2, cls := left, right, "req"
		if e.Kind == "iso_in" {
			x1, x2, cls = right, left, "resp"
		}
		if e.Kind == "iso_lost" {
			x2, cls = (left+right)/2, "lost"
		}
		label := e.MTI
		if n := iso.MTIName(e.MTI); n != "" {
			label += " " + n
		}
		if e.Text != "" && e.Kind != "iso_out" && e.Kind != "iso_in" {
			label += " " + e.Text
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="%s" marker-end="url(#arrow)"/>`, x1, r.y, x2, r.y, cls)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="msg">%s</text>`, (left+right)/2, r.y-5, template.HTMLEscapeString(label))
		fmt.Fprintf(&b, `<text x="4" y="%d" class="at">%.3fs</text>`, r.y+4, e.At.Seconds())
		for i, f := range r.fields {
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="fld">%s</text>`, left+12, r.y+line*(i+1), template.HTMLEscapeString(f))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timelineSVG draws the run as a gantt chart: one bar per scenario from
// its start to its end on the run's wall clock, coloured by status, each
// a link to the scenario. It shows what ran in parallel and what took
// the time.
func timelineSVG(scenarios []pageScenario) template.HTML {
	var t0, t1 time.Time
	var bars []pageScenario
	for _, s := range scenarios {
		if s.Started.IsZero() {
			continue
		}
		bars = append(bars, s)
		if t0.IsZero() || s.Started.Before(t0) {
			t0 = s.Started
		}
		if end := s.Started.Add(s.Elapsed); end.After(t1) {
			t1 = end
		}
	}
	if len(bars) == 0 {
		return ""
	}
	slices.SortStableFunc(bars, func(a, b pageScenario) int { return a.Started.Compare(b.Started) })
	span := max(t1.Sub(t0), time.Millisecond)
	const width, left, row, axis = 900, 4, 7, 16
	plot := float64(width - 2*left)
	h := axis + row*len(bars) + 2
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, width, h, width, h)
	for i := 0; i <= 4; i++ {
		x := left + plot*float64(i)/4
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="tick"/><text x="%.1f" y="11" text-anchor="%s" class="at">%.2fs</text>`,
			x, axis-3, x, h, x, anchor, (span * time.Duration(i) / 4).Seconds())
	}
	for i, s := range bars {
		x := left + plot*float64(s.Started.Sub(t0))/float64(span)
		w := max(plot*float64(s.Elapsed)/float64(span), 2)
		label := s.Name
		if s.Example != "" {
			label += " (" + s.Example + ")"
		}
		fmt.Fprintf(&b, `<a href="#%s"><rect x="%.1f" y="%d" width="%.1f" height="%d" class="bar %s"><title>%s: %s, %.2fs</title></rect></a>`,
			s.Anchor, x, axis+row*i, w, row-2, statusClass(s.Status), template.HTMLEscapeString(label), s.Status, s.Elapsed.Seconds())
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

//go:embed report.html
var reportPage string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"ladder": ladderSVG, "class": statusClass, "search": searchText,
	"seconds": func(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) },
}).Parse(reportPage))

// SignedPosting is a posting as it moves the merchant's money: a
// reverse_d0 or cancel_t1 posting is stored positive and takes money back,
// so its gross, fee and net come out negative. The demo and the HTML
// report both show postings through it, so a reversal has one sign.
func SignedPosting(p ledger.Posting) (gross, fee, net int64) {
	switch p.Type {
	case ledger.PostReverseD0, ledger.PostCancelT1:
		return -p.Gross, -p.Fee, -p.Net
	}
	return p.Gross, p.Fee, p.Net
}

// PostingLine is one posting as the report's ledger section prints it.
func PostingLine(p ledger.Posting) string {
	g, f, n := SignedPosting(p)
	return fmt.Sprintf("%s %-12s %s/%s gross %10s fee %8s net %10s", p.MerchantID, p.Type,
		p.EntryKey.TID, p.EntryKey.STAN, money.Format(g), money.Format(f), money.Format(n))
}
