package printer

import (
	"bytes"
	"fmt"
	"html"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/width"
)

// Columns is the width of a receipt line in cells: Font A (12x24 dots) on
// 80 mm paper with the usual 512-dot printable area. A CJK character takes
// two cells, and each cell is multiplied by the character width (ESC !, GS !).
const Columns = 42

type alignment int

const (
	alignLeft alignment = iota
	alignCenter
	alignRight
)

// style is the character formatting in effect for a run of text.
type style struct {
	bold, underline bool
	w, h            int // size multipliers, 1..8
}

var plain = style{w: 1, h: 1}

// segment is raw text waiting in the print buffer for its line to end.
type segment struct {
	raw     []byte
	style   style
	chinese bool
}

type span struct {
	text  string
	style style
}

type itemKind int

const (
	itemText itemKind = iota
	itemBarcode
	itemQR
	itemImage
)

// item is one printed element of a page: a text line, a barcode, a QR code
// or a raster image.
type item struct {
	kind  itemKind
	align alignment
	spans []span // itemText
	cells int    // itemText: width in cells
	kindName,
	text string // barcode: type name and human-readable data; QR: data
	dots []byte // image bits, MSB first, row-major
	// barcode: the GS k form B type and data as sent, for drawing
	barcodeType int
	data        []byte
	w, h        int // image size in dots
}

// engine is the printer's formatting state and the page being printed since
// the last cut. It is not safe for concurrent use; the Printer locks it.
type engine struct {
	chineseDefault bool
	chinese        bool
	style          style
	align          alignment
	qr             []byte

	line      []segment
	lineAlign alignment
	page      []item
	pageBytes int // image dots and QR text on the page, for full

	gb *encoding.Decoder
	cp *encoding.Decoder
}

func newEngine(chinese bool) *engine {
	e := &engine{
		chineseDefault: chinese,
		gb:             simplifiedchinese.GB18030.NewDecoder(),
		cp:             charmap.CodePage437.NewDecoder(),
	}
	e.reset()
	return e
}

// reset is ESC @: formatting back to defaults and the print buffer cleared.
// Lines already printed stay on the paper.
func (e *engine) reset() {
	e.chinese = e.chineseDefault
	e.style = plain
	e.align = alignLeft
	e.qr = nil
	e.line = nil
}

// discard drops the print buffer and the uncut page.
func (e *engine) discard() {
	e.line = nil
	e.page, e.pageBytes = nil, 0
}

// apply carries out one command and reports whether it cut the paper.
func (e *engine) apply(c command) (cut bool) {
	switch c.op {
	case opText:
		e.addText(c.data)
	case opTab:
		e.addText([]byte{ht})
	case opLF:
		e.flushLine()
	case opFeedLines:
		if c.n == 0 {
			e.flushPending()
		}
		for range c.n {
			e.flushLine()
		}
	case opFeedDots:
		e.flushPending()
	case opInit:
		e.reset()
	case opBold:
		e.style.bold = c.n&1 == 1
	case opUnderline:
		e.style.underline = c.n&3 != 0
	case opAlign:
		switch c.n {
		case 0, '0':
			e.align = alignLeft
		case 1, '1':
			e.align = alignCenter
		case 2, '2':
			e.align = alignRight
		}
	case opPrintMode:
		e.style = style{
			bold:      c.n&0x08 != 0,
			underline: c.n&0x80 != 0,
			h:         1 + c.n>>4&1,
			w:         1 + c.n>>5&1,
		}
	case opSize:
		e.style.w = c.n>>4&7 + 1
		e.style.h = c.n&7 + 1
	case opChineseOn:
		e.chinese = true
	case opChineseOff:
		e.chinese = false
	case opBarcode:
		e.flushPending()
		e.page = append(e.page, item{kind: itemBarcode, align: e.align, kindName: barcodeName(c.n), text: barcodeText(c.n, c.data),
			barcodeType: c.n, data: bytes.Clone(c.data)})
	case opQRStore:
		e.qr = c.data
	case opQRPrint:
		if e.qr == nil {
			return false
		}
		e.flushPending()
		e.page = append(e.page, item{kind: itemQR, align: e.align, text: e.decodeData(e.qr)})
		e.pageBytes += len(e.qr)
	case opRaster:
		e.flushPending()
		e.page = append(e.page, item{kind: itemImage, align: e.align, dots: c.data, w: c.w * 8, h: c.h})
		e.pageBytes += len(c.data)
	case opCut:
		e.flushPending()
		return true
	}
	return false
}

func (e *engine) addText(b []byte) {
	if len(e.line) == 0 {
		e.lineAlign = e.align
	}
	if n := len(e.line); n > 0 && e.line[n-1].style == e.style && e.line[n-1].chinese == e.chinese {
		e.line[n-1].raw = append(e.line[n-1].raw, b...)
		return
	}
	e.line = append(e.line, segment{raw: append([]byte(nil), b...), style: e.style, chinese: e.chinese})
}

// flushPending prints the buffer if it holds anything, as commands that
// print "the data in the buffer" do, without feeding an empty line.
func (e *engine) flushPending() {
	if len(e.line) > 0 {
		e.flushLine()
	}
}

// flushLine prints the buffer as one or more lines (the printer wraps at
// the right margin) and feeds.
func (e *engine) flushLine() {
	if len(e.line) == 0 {
		e.page = append(e.page, item{kind: itemText, align: e.align})
		return
	}
	cur := item{kind: itemText, align: e.lineAlign}
	var sb strings.Builder
	emit := func(st style) {
		if sb.Len() > 0 {
			cur.spans = append(cur.spans, span{text: sb.String(), style: st})
			sb.Reset()
		}
	}
	for _, seg := range e.line {
		text := e.decode(seg.raw, seg.chinese)
		for _, r := range text {
			n := runeCells(r) * seg.style.w
			s := string(r)
			if r == '\t' {
				n = 8 - cur.cells%8
				s = strings.Repeat(" ", n)
			}
			if cur.cells+n > Columns && cur.cells > 0 {
				emit(seg.style)
				e.page = append(e.page, cur)
				cur = item{kind: itemText, align: e.lineAlign}
				if r == '\t' {
					continue
				}
			}
			sb.WriteString(s)
			cur.cells += n
		}
		emit(seg.style)
	}
	e.page = append(e.page, cur)
	e.line = nil
}

func (e *engine) decode(raw []byte, chinese bool) string {
	d := e.cp
	if chinese {
		d = e.gb
	}
	out, err := d.Bytes(raw)
	if err != nil {
		return strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	return string(out)
}

// decodeData turns 2D-code data into text: UTF-8 when it is valid UTF-8
// (payment URLs and codes), else the current character set.
func (e *engine) decodeData(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = e.decode(b, e.chinese)
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F {
			return '?'
		}
		return r
	}, s)
}

// takePage returns the printed page and starts a new one.
func (e *engine) takePage() []item {
	p := e.page
	e.page, e.pageBytes = nil, 0
	return p
}

// full reports whether the uncut page reached the limits of what the
// printer holds (MaxPageItems, MaxPageBytes).
func (e *engine) full() bool {
	return len(e.page) >= MaxPageItems || e.pageBytes >= MaxPageBytes
}

// blank reports whether a page holds nothing but empty lines.
func blank(page []item) bool {
	for _, it := range page {
		if it.kind != itemText || strings.TrimSpace(spansText(it.spans)) != "" {
			return false
		}
	}
	return true
}

func runeCells(r rune) int {
	if r < 0x1100 {
		return 1
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

func spansText(spans []span) string {
	var sb strings.Builder
	for _, s := range spans {
		sb.WriteString(s.text)
	}
	return sb.String()
}

// renderText lays a page out as plain text, Columns wide. Alignment padding
// is computed in cells, so a double-width word starts where it does on paper.
func renderText(page []item) string {
	var sb strings.Builder
	for _, it := range page {
		var line string
		cells := 0
		switch it.kind {
		case itemText:
			line, cells = spansText(it.spans), it.cells
		case itemBarcode:
			line = fmt.Sprintf("[BARCODE %s: %s]", it.kindName, it.text)
		case itemQR:
			line = fmt.Sprintf("[QR: %s]", it.text)
		case itemImage:
			line = fmt.Sprintf("[IMAGE %dx%d]", it.w, it.h)
		}
		if it.kind != itemText {
			cells = textCells(line)
		}
		pad := 0
		switch it.align {
		case alignCenter:
			pad = (Columns - cells) / 2
		case alignRight:
			pad = Columns - cells
		}
		if pad > 0 {
			line = strings.Repeat(" ", pad) + line
		}
		sb.WriteString(strings.TrimRight(line, " "))
		sb.WriteByte('\n')
	}
	return sb.String()
}

func textCells(s string) int {
	n := 0
	for _, r := range s {
		n += runeCells(r)
	}
	return n
}

var alignCSS = [...]string{"left", "center", "right"}

// renderHTML lays a page out as an HTML fragment with inline styles, so it
// reads the same embedded in a report or alone in a file.
func renderHTML(page []item) string {
	var sb strings.Builder
	sb.WriteString(`<div class="receipt" style="font-family:monospace;width:42ch;padding:1ch;border:1px solid #ccc;background:#fff;color:#000">` + "\n")
	for _, it := range page {
		fmt.Fprintf(&sb, `<div style="white-space:pre;text-align:%s">`, alignCSS[it.align])
		switch it.kind {
		case itemText:
			if len(it.spans) == 0 {
				sb.WriteString("&nbsp;")
			}
			for _, s := range it.spans {
				writeSpan(&sb, s)
			}
		case itemBarcode:
			writeBarcodeSVG(&sb, it)
		case itemQR:
			fmt.Fprintf(&sb, `<div class="qr" style="display:inline-block;border:3px solid #000;padding:4px;white-space:normal;max-width:30ch;word-break:break-all">QR<br>%s</div>`, html.EscapeString(it.text))
		case itemImage:
			writeImageBlocks(&sb, it)
		}
		sb.WriteString("</div>\n")
	}
	sb.WriteString("</div>\n")
	return sb.String()
}

func writeSpan(sb *strings.Builder, s span) {
	text := html.EscapeString(s.text)
	if s.style.underline {
		text = "<u>" + text + "</u>"
	}
	if s.style.bold {
		text = "<b>" + text + "</b>"
	}
	if s.style.w > 1 || s.style.h > 1 {
		text = fmt.Sprintf(`<span style="font-size:%d%%">%s</span>`, 100*max(s.style.w, s.style.h), text)
	}
	sb.WriteString(text)
}

// writeImageBlocks draws a raster image with block characters, each
// character covering s x 2s dots, so any accepted image fits 42 columns.
func writeImageBlocks(sb *strings.Builder, it item) {
	if it.w == 0 || it.h == 0 {
		sb.WriteString("[empty image]")
		return
	}
	s := (it.w + Columns - 1) / Columns
	rowBytes := it.w / 8
	set := func(x0, y0 int) bool {
		for y := y0; y < y0+s && y < it.h; y++ {
			for x := x0; x < x0+s && x < it.w; x++ {
				if it.dots[y*rowBytes+x/8]>>(7-x%8)&1 == 1 {
					return true
				}
			}
		}
		return false
	}
	sb.WriteString(`<pre class="image" style="display:inline-block;margin:0;line-height:1">`)
	for y := 0; y < it.h; y += 2 * s {
		for x := 0; x < it.w; x += s {
			top, bottom := set(x, y), set(x, y+s)
			switch {
			case top && bottom:
				sb.WriteRune('█')
			case top:
				sb.WriteRune('▀')
			case bottom:
				sb.WriteRune('▄')
			default:
				sb.WriteByte(' ')
			}
		}
		sb.WriteByte('\n')
	}
	sb.WriteString(`</pre>`)
}

// barcodeName names a GS k form B type (65..79).
func barcodeName(m int) string {
	names := [...]string{"UPC-A", "UPC-E", "EAN13", "EAN8", "CODE39", "ITF", "CODABAR", "CODE93", "CODE128",
		"GS1-128", "GS1-DATABAR-OMNI", "GS1-DATABAR-TRUNCATED", "GS1-DATABAR-LIMITED", "GS1-DATABAR-EXPANDED", "CODE128-AUTO"}
	if m >= 65 && m-65 < len(names) {
		return names[m-65]
	}
	return fmt.Sprintf("TYPE%d", m)
}

// barcodeText is the human-readable line of a barcode. CODE128 data carries
// code-set selectors ({A {B {C); in code set C each byte is two digits.
func barcodeText(m int, data []byte) string {
	var sb strings.Builder
	code128 := m == 73 || m == 74
	setC := false
	for i := 0; i < len(data); i++ {
		b := data[i]
		if code128 && b == '{' && i+1 < len(data) {
			i++
			switch data[i] {
			case 'A', 'B':
				setC = false
			case 'C':
				setC = true
			case '{':
				sb.WriteByte('{')
			}
			continue
		}
		switch {
		case setC && b < 100:
			fmt.Fprintf(&sb, "%02d", b)
		case b >= 0x20 && b < 0x7F:
			sb.WriteByte(b)
		default:
			sb.WriteByte('?')
		}
	}
	return sb.String()
}
