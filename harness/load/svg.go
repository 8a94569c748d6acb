package load

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// The charts of the HTML report are drawn here as inline SVG, so the page
// needs no network and no script library. Output depends only on the
// data: the same report gives the same bytes.

const (
	chartW, chartH = 720.0, 240.0
	padL, padR     = 64.0, 16.0
	padT, padB     = 12.0, 36.0
)

// scale maps data values onto a span of pixels, linearly or by log10.
type scale struct {
	lo, hi   float64 // data
	from, to float64 // pixels
	log      bool
}

func (s scale) at(v float64) float64 {
	lo, hi := s.lo, s.hi
	if s.log {
		v, lo, hi = math.Log10(max(v, s.lo)), math.Log10(lo), math.Log10(hi)
	}
	if hi == lo {
		return s.from
	}
	return s.from + (v-lo)/(hi-lo)*(s.to-s.from)
}

// ticks are the values to label: 1-2-5 steps on a linear scale, powers of
// ten on a log scale.
func (s scale) ticks() []float64 {
	var out []float64
	if s.log {
		for e := math.Floor(math.Log10(s.lo)); e <= math.Ceil(math.Log10(s.hi)); e++ {
			if v := math.Pow(10, e); v >= s.lo*0.999 && v <= s.hi*1.001 {
				out = append(out, v)
			}
		}
		return out
	}
	step := niceStep((s.hi - s.lo) / 5)
	for v := math.Ceil(s.lo/step) * step; v <= s.hi+step/1e6; v += step {
		out = append(out, v)
	}
	return out
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// niceMax rounds a linear axis' top up to a step, and gives an empty
// chart an axis.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	s := niceStep(v / 5)
	return math.Ceil(v/s) * s
}

// logRange widens lo..hi to whole decades for a log axis.
func logRange(lo, hi float64) (float64, float64) {
	if lo <= 0 || hi <= 0 {
		return 0.01, 1
	}
	lo, hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if lo == hi {
		hi *= 10
	}
	return lo, hi
}

// num formats a value for a label: no more digits than it needs.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return thousands(int64(math.Round(v)))
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// thousands writes n with comma separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// svgChart writes one chart: the frame, axes with their labels, and what
// draw adds between them.
type svgChart struct {
	b    strings.Builder
	x, y scale
}

func newChart(id, label string, x, y scale, xLabel, yLabel string) *svgChart {
	c := &svgChart{x: x, y: y}
	c.x.from, c.x.to = padL, chartW-padR
	c.y.from, c.y.to = chartH-padB, padT
	fmt.Fprintf(&c.b, `<svg id="%s" class="chart" viewBox="0 0 %s %s" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`+"\n",
		id, px(chartW), px(chartH), html.EscapeString(label))
	c.b.WriteString(`<g class="grid">`)
	for _, t := range c.y.ticks() {
		yy := c.y.at(t)
		fmt.Fprintf(&c.b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/><text class="tick" x="%s" y="%s" text-anchor="end">%s</text>`,
			px(padL), px(chartW-padR), px(yy), px(yy), px(padL-6), px(yy+4), num(t))
	}
	for _, t := range c.x.ticks() {
		xx := c.x.at(t)
		fmt.Fprintf(&c.b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/><text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>`,
			px(xx), px(xx), px(padT), px(chartH-padB), px(xx), px(chartH-padB+16), num(t))
	}
	c.b.WriteString("</g>\n")
	fmt.Fprintf(&c.b, `<text class="axis" x="%s" y="%s" text-anchor="middle">%s</text>`, px((padL+chartW-padR)/2), px(chartH-4), html.EscapeString(xLabel))
	fmt.Fprintf(&c.b, `<text class="axis" x="12" y="%s" text-anchor="middle" transform="rotate(-90 12 %s)">%s</text>`+"\n",
		px((padT+chartH-padB)/2), px((padT+chartH-padB)/2), html.EscapeString(yLabel))
	return c
}

// line adds one series as a polyline through the points (x, y); a NaN y
// breaks the line (a window with no requests has no latency).
func (c *svgChart) line(class, name string, xs, ys []float64) {
	fmt.Fprintf(&c.b, `<g class="series %s" data-series="%s">`, class, html.EscapeString(name))
	var pts []string
	flush := func() {
		if len(pts) == 1 {
			p := strings.Split(pts[0], ",")
			fmt.Fprintf(&c.b, `<circle cx="%s" cy="%s" r="2"/>`, p[0], p[1])
		} else if len(pts) > 1 {
			fmt.Fprintf(&c.b, `<polyline points="%s"/>`, strings.Join(pts, " "))
		}
		pts = pts[:0]
	}
	for i := range xs {
		if math.IsNaN(ys[i]) {
			flush()
			continue
		}
		pts = append(pts, px(c.x.at(xs[i]))+","+px(c.y.at(ys[i])))
	}
	flush()
	c.b.WriteString("</g>\n")
}

// rect adds a bar from data (x0, y0) to (x1, y1) with a hover title.
func (c *svgChart) rect(x0, x1, y0, y1 float64, title string) {
	l, r := c.x.at(x0), c.x.at(x1)
	t, b := c.y.at(y1), c.y.at(y0)
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
		px(l), px(t), px(max(r-l, 0.5)), px(max(b-t, 0.5)), html.EscapeString(title))
}

// hover adds a transparent band over x0..x1 whose title lists the values
// there: the tooltip of a line chart.
func (c *svgChart) hover(x0, x1 float64, title string) {
	l, r := c.x.at(x0), c.x.at(x1)
	fmt.Fprintf(&c.b, `<rect class="hover" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
		px(l), px(padT), px(max(r-l, 0.5)), px(chartH-padB-padT), html.EscapeString(title))
}

func (c *svgChart) note(text string) {
	fmt.Fprintf(&c.b, `<text class="empty" x="%s" y="%s" text-anchor="middle">%s</text>`+"\n",
		px((padL+chartW-padR)/2), px((padT+chartH-padB)/2), html.EscapeString(text))
}

func (c *svgChart) String() string { return c.b.String() + "</svg>" }
