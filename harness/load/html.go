package load

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"slices"

	"github.com/possim/possim/simulators/iso"
)

//go:embed report.html.tmpl
var reportTmpl string

var reportPage = template.Must(template.New("load").Parse(reportTmpl))

// legendItem is one series of a chart: its colour class and name.
type legendItem struct{ Class, Name string }

type chartView struct {
	ID, Title, Note string
	SVG             template.HTML
	Legend          []legendItem
}

type countRow struct {
	What, Code, Text string
	Count            int
}

// WriteHTMLFile writes the report as one self-contained HTML page.
func (r *Report) WriteHTMLFile(path string) error {
	b, err := r.HTML()
	if err != nil {
		return fmt.Errorf("load report %s: %w", path, err)
	}
	return writeFileAtomic(path, b)
}

// HTML is the report as one self-contained page: the figures, then
// throughput, latency percentiles and declines and errors over time, and
// the latency histogram, as inline SVG that works offline, in light and
// dark. The same report gives the same page, byte for byte.
func (r *Report) HTML() ([]byte, error) {
	var rows []countRow
	for _, c := range sortedKeys(r.Declines) {
		rows = append(rows, countRow{What: "declined", Code: c, Text: iso.ResponseText(c), Count: r.Declines[c]})
	}
	for _, k := range sortedKeys(r.ErrorKinds) {
		rows = append(rows, countRow{What: "error", Text: k, Count: r.ErrorKinds[k]})
	}
	data := struct {
		R      *Report
		Start  string
		End    string
		Rows   []countRow
		Charts []chartView
	}{R: r, Start: r.Start.Format("2006-01-02 15:04:05.000 MST"), End: r.End.Format("2006-01-02 15:04:05.000 MST"), Rows: rows,
		Charts: []chartView{r.throughputChart(), r.latencyChart(), r.histogramChart(), r.codesChart()}}
	var b bytes.Buffer
	if err := reportPage.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	return b.Bytes(), nil
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// span is the seconds the windows cover, for the time axis.
func (r *Report) span() float64 {
	s := r.Seconds
	if n := len(r.Windows); n > 0 {
		w := r.Windows[n-1]
		s = max(s, w.Start+w.Seconds)
	}
	return max(s, 1e-3)
}

// perSecond is a window's count as a rate; a window of no length (none
// ran in it) has none.
func (w Window) perSecond(n int64) float64 {
	if w.Seconds <= 0 {
		return 0
	}
	return float64(n) / w.Seconds
}

func (r *Report) throughputChart() chartView {
	v := chartView{ID: "throughput", Title: "Throughput", Legend: []legendItem{{"s0", "requests/s"}, {"s1", "approved/s"}}}
	top := 0.0
	for _, w := range r.Windows {
		if w.Seconds >= r.WindowSecs/5 {
			top = max(top, w.perSecond(int64(w.Requests)))
		}
	}
	c := newChart(v.ID, "requests and approvals per second over time", scale{hi: r.span()}, scale{hi: niceMax(top)}, "seconds from start", "per second")
	if len(r.Windows) == 0 {
		v.Note = "No windows in this report: run possim load with --window (--report and --html default it to 1s)."
		c.note("no windows")
	}
	var xs, req, ok []float64
	for _, w := range r.Windows {
		xs = append(xs, w.Start+w.Seconds/2)
		if w.Seconds < r.WindowSecs/5 {
			// a sliver of a window at the end: its rate is noise
			req, ok = append(req, math.NaN()), append(ok, math.NaN())
			continue
		}
		req = append(req, w.perSecond(int64(w.Requests)))
		ok = append(ok, w.perSecond(w.Approved))
	}
	c.line("s0", "requests", xs, req)
	c.line("s1 dash", "approved", xs, ok)
	for _, w := range r.Windows {
		c.hover(w.Start, w.Start+max(w.Seconds, r.WindowSecs), fmt.Sprintf("%s–%s s: %s requests/s, %s approved/s (%s requests)",
			num(w.Start), num(w.Start+w.Seconds), num(w.perSecond(int64(w.Requests))), num(w.perSecond(w.Approved)), thousands(int64(w.Requests))))
	}
	v.SVG = template.HTML(c.String())
	return v
}

func (r *Report) latencyChart() chartView {
	v := chartView{ID: "latency", Title: "Latency percentiles over time",
		Legend: []legendItem{{"s0", "p50"}, {"s1", "p90"}, {"s2", "p99"}, {"s3", "max"}}}
	lo, hi := math.Inf(1), 0.0
	for _, w := range r.Windows {
		if w.Requests > 0 && w.Seconds >= r.WindowSecs/5 {
			lo, hi = min(lo, w.Latency.P50), max(hi, w.Latency.Max)
		}
	}
	if hi == 0 {
		lo, hi = r.Latency.P50, r.Latency.Max
	}
	lo, hi = logRange(lo, hi)
	c := newChart(v.ID, "latency percentiles per window, milliseconds, log scale", scale{hi: r.span()}, scale{lo: lo, hi: hi, log: true}, "seconds from start", "ms (log)")
	if len(r.Windows) == 0 {
		c.note("no windows")
	}
	series := []func(Latency) float64{
		func(l Latency) float64 { return l.P50 }, func(l Latency) float64 { return l.P90 },
		func(l Latency) float64 { return l.P99 }, func(l Latency) float64 { return l.Max }}
	for i, f := range series {
		var xs, ys []float64
		for _, w := range r.Windows {
			xs = append(xs, w.Start+w.Seconds/2)
			if w.Requests == 0 || w.Seconds < r.WindowSecs/5 {
				ys = append(ys, math.NaN()) // nothing sent, or a sliver of a window at the end
			} else {
				ys = append(ys, f(w.Latency))
			}
		}
		c.line(v.Legend[i].Class, v.Legend[i].Name, xs, ys)
	}
	for _, w := range r.Windows {
		l := w.Latency
		c.hover(w.Start, w.Start+max(w.Seconds, r.WindowSecs), fmt.Sprintf("%s–%s s: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms",
			num(w.Start), num(w.Start+w.Seconds), num(l.P50), num(l.P90), num(l.P99), num(l.Max)))
	}
	v.SVG = template.HTML(c.String())
	return v
}

// binsPerDecade: the histogram chart groups the HDR buckets into bins of
// equal width on its log axis.
const binsPerDecade = 20

func (r *Report) histogramChart() chartView {
	v := chartView{ID: "histogram", Title: "Latency histogram", Legend: []legendItem{{"s0", "requests"}}}
	bars := r.Histogram.Bars()
	bins := map[int]int64{}
	var top int64
	for _, b := range bars {
		ms := float64(b.To) / 1000
		i := int(math.Floor(math.Log10(ms) * binsPerDecade))
		bins[i] += b.Count
		top = max(top, bins[i])
	}
	lo, hi := 0.01, 1.0
	if len(bars) > 0 {
		lo, hi = logRange(float64(bars[0].From)/1000, float64(bars[len(bars)-1].To+1)/1000)
	}
	c := newChart(v.ID, "latency histogram: requests by latency, both axes log scale", scale{lo: lo, hi: hi, log: true},
		scale{lo: 0.5, hi: math.Pow(10, math.Ceil(math.Log10(max(float64(top), 10)))), log: true}, "latency ms (log)", "requests (log)")
	if len(bars) == 0 {
		c.note("no requests")
	}
	c.b.WriteString(`<g class="series s0 bars" data-series="requests">`)
	idx := make([]int, 0, len(bins))
	for i := range bins {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		x0, x1 := math.Pow(10, float64(i)/binsPerDecade), math.Pow(10, float64(i+1)/binsPerDecade)
		// bars rise from below 1, so that a bin of one request shows
		c.rect(x0, x1, 0.5, float64(bins[i]), fmt.Sprintf("%s–%s ms: %s requests", num(x0), num(x1), thousands(bins[i])))
	}
	c.b.WriteString("</g>\n")
	v.SVG = template.HTML(c.String())
	return v
}

func (r *Report) codesChart() chartView {
	v := chartView{ID: "codes", Title: "Declines and errors over time"}
	type key struct {
		decline bool
		code    string
	}
	var keys []key
	for _, c := range sortedKeys(r.Declines) {
		keys = append(keys, key{true, c})
	}
	for _, k := range sortedKeys(r.ErrorKinds) {
		keys = append(keys, key{false, k})
	}
	name := func(k key) string {
		if k.decline {
			return k.code + " " + iso.ResponseText(k.code)
		}
		return "error: " + k.code
	}
	top := 0.0
	for _, w := range r.Windows {
		top = max(top, float64(w.Requests)-float64(w.Approved))
	}
	c := newChart(v.ID, "declines by response code and errors by kind per window", scale{hi: r.span()}, scale{hi: niceMax(top)}, "seconds from start", "requests per window")
	switch {
	case len(keys) == 0:
		c.note("no declines and no errors")
	case len(r.Windows) == 0:
		c.note("no windows")
	}
	for i, k := range keys {
		cls := fmt.Sprintf("s%d", i%8)
		v.Legend = append(v.Legend, legendItem{cls, name(k)})
	}
	// stacked: each window's bars sit on the ones of the keys before
	base := make([]float64, len(r.Windows))
	for i, k := range keys {
		fmt.Fprintf(&c.b, `<g class="series %s bars" data-series="%s">`, v.Legend[i].Class, template.HTMLEscapeString(name(k)))
		for j, w := range r.Windows {
			m := w.Declines
			if !k.decline {
				m = w.ErrorKinds
			}
			n := float64(m[k.code])
			if n == 0 {
				continue
			}
			width := max(w.Seconds, r.WindowSecs)
			c.rect(w.Start+width*0.1, w.Start+width*0.9, base[j], base[j]+n, fmt.Sprintf("%s–%s s: %s: %s", num(w.Start), num(w.Start+w.Seconds), name(k), thousands(int64(n))))
			base[j] += n
		}
		c.b.WriteString("</g>\n")
	}
	v.SVG = template.HTML(c.String())
	return v
}
