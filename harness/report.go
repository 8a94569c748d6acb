package harness

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/ledger"
)

// ScenarioReport is what the HTML report shows of one scenario.
type ScenarioReport struct {
	Feature  string
	Name     string
	URI      string
	Status   string // passed, failed, skipped, undefined, pending
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
	Text   string
	Status string
	Error  string
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

// WriteHTML writes one self-contained HTML page: per scenario its steps,
// the message ladder terminal <-> host drawn as SVG, the receipts as
// printed, the ledger lines, and for a failure the diff. No external
// scripts, styles or fonts, so the file can be mailed or archived.
func WriteHTML(w io.Writer, sum RunSummary, scenarios []ScenarioReport) error {
	return reportTmpl.Execute(w, struct {
		Sum       RunSummary
		Scenarios []ScenarioReport
	}{sum, scenarios})
}

// ladderSVG draws the message ladder: two lifelines and one arrow per
// message, requests left to right, responses right to left.
func ladderSVG(events []Event) template.HTML {
	if len(events) == 0 {
		return ""
	}
	const width, left, right, step = 640, 90, 550, 34
	h := 50 + step*len(events)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="ladder" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, width, h, width, h)
	b.WriteString(`<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L8,4 L0,8 z" fill="#444"/></marker></defs>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" text-anchor="middle" class="who">terminal</text><text x="%d" y="16" text-anchor="middle" class="who">host</text>`, left, right)
	fmt.Fprintf(&b, `<line x1="%d" y1="24" x2="%d" y2="%d" class="life"/><line x1="%d" y1="24" x2="%d" y2="%d" class="life"/>`, left, left, h, right, right, h)
	for i, e := range events {
		y := 44 + i*step
		x1, x2, cls := left, right, "req"
		if e.Kind == "iso_in" {
			x1, x2, cls = right, left, "resp"
		}
		if e.Kind == "iso_lost" {
			x2, cls = (left+right)/2, "lost"
		}
		label := e.MTI
		for _, k := range []string{"3", "4", "11", "39"} {
			if v := e.Fields[k]; v != "" {
				label += fmt.Sprintf(" %s=%s", k, v)
			}
		}
		if e.Text != "" && e.Kind != "iso_out" && e.Kind != "iso_in" {
			label += " " + e.Text
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="%s" marker-end="url(#arrow)"/>`, x1, y, x2, y, cls)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="msg">%s</text>`, (left+right)/2, y-5, template.HTMLEscapeString(label))
		fmt.Fprintf(&b, `<text x="4" y="%d" class="at">%.3fs</text>`, y+4, e.At.Seconds())
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{"ladder": ladderSVG}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Sum.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} .sum span{margin-right:1.5em}
details{border:1px solid #ccc;border-radius:6px;margin:.6em 0;padding:.4em .8em}
summary{cursor:pointer;font-weight:600}
.passed>summary{color:#17692b} .failed>summary{color:#b00020} .other>summary{color:#8a6d00}
ol.steps li.passed{color:#17692b} ol.steps li.failed{color:#b00020} ol.steps li.skipped,ol.steps li.undefined,ol.steps li.pending{color:#8a6d00}
pre{background:#f6f6f6;padding:.6em;overflow:auto} pre.receipt{display:inline-block;vertical-align:top;margin-right:1em;background:#fffdf4;border:1px dashed #bbb}
pre.err{background:#fff0f0}
svg.ladder .life{stroke:#888;stroke-dasharray:4 3} svg.ladder .req{stroke:#1f4e9e;stroke-width:1.5} svg.ladder .resp{stroke:#17692b;stroke-width:1.5}
svg.ladder .lost{stroke:#b00020;stroke-width:1.5;stroke-dasharray:6 3} svg.ladder .msg{font:12px monospace} svg.ladder .who{font-weight:600} svg.ladder .at{font:10px monospace;fill:#777}
</style></head><body>
<h1>{{.Sum.Title}}</h1>
<p class="sum"><span>passed {{.Sum.Passed}}</span><span>failed {{.Sum.Failed}}</span><span>other {{.Sum.Other}}</span><span>seed {{.Sum.Seed}}</span><span>{{.Sum.Elapsed}}</span></p>
{{range .Scenarios}}
<details class="{{if eq .Status "passed"}}passed{{else if eq .Status "failed"}}failed{{else}}other{{end}}"{{if eq .Status "failed"}} open{{end}}>
<summary>{{.Status}} — {{.Feature}}: {{.Name}} <small>{{.URI}}</small></summary>
<ol class="steps">{{range .Steps}}<li class="{{.Status}}">{{.Text}}{{if .Error}}<pre class="err">{{.Error}}</pre>{{end}}</li>{{end}}</ol>
{{if .Error}}<h4>Failure</h4><pre class="err">{{.Error}}</pre>{{end}}
{{if .Dropped}}<p>{{.Dropped}} older timeline events were dropped (recorder bound); the ladder may be incomplete.</p>{{end}}
{{if .Ladder}}<h4>Messages terminal ⇄ host</h4>{{ladder .Ladder}}{{end}}
{{if .Receipts}}<h4>Receipts</h4>{{range .Receipts}}<pre class="receipt">{{.}}</pre>{{end}}{{end}}
{{if .Ledger}}<h4>Ledger</h4><pre>{{range .Ledger}}{{.}}
{{end}}</pre>{{end}}
{{if .Evidence}}<h4>Evidence</h4>{{range .Evidence}}<pre>{{.}}</pre>{{end}}{{end}}
</details>
{{end}}
</body></html>
`))

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
