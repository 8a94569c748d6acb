package printer

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// renderBarcodeHTML prints one GS k barcode (form B, or form A when m < 65)
// through the parser and the engine and returns the page's HTML and text.
func renderBarcodeHTML(t *testing.T, m byte, data []byte) (htmlOut, text string) {
	t.Helper()
	var in []byte
	if m < 65 {
		in = append(append([]byte{gs, 'k', m}, data...), nul)
	} else {
		in = append([]byte{gs, 'k', m, byte(len(data))}, data...)
	}
	e := newEngine(false)
	ps := newParser(bytes.NewReader(in))
	for {
		c, err := ps.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		e.apply(c)
	}
	e.apply(command{op: opCut})
	page := e.takePage()
	return renderHTML(page), renderText(page)
}

var (
	svgRe  = regexp.MustCompile(`<svg class="barcode"[^>]*viewBox="0 0 (\d+) \d+"[^>]*>(.*?)</svg>`)
	rectRe = regexp.MustCompile(`<rect x="(\d+)" y="0" width="(\d+)" height="\d+"/>`)
	hriRe  = regexp.MustCompile(`<span class="hri">([^<]*)</span>`)
)

// svgModules reads the bars of the one barcode SVG in page back into
// modules, true for a bar, and returns them with the HRI line.
func svgModules(t *testing.T, page string) (modules []bool, bars int, hri string) {
	t.Helper()
	m := svgRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no barcode <svg> in\n%s", page)
	}
	n, _ := strconv.Atoi(m[1])
	modules = make([]bool, n)
	for _, r := range rectRe.FindAllStringSubmatch(m[2], -1) {
		x, _ := strconv.Atoi(r[1])
		w, _ := strconv.Atoi(r[2])
		if w < 1 || x+w > n {
			t.Fatalf("bar x=%d width=%d outside %d modules", x, w, n)
		}
		for i := x; i < x+w; i++ {
			modules[i] = true
		}
		bars++
	}
	h := hriRe.FindStringSubmatch(page)
	if h == nil {
		t.Fatalf("no HRI line under the barcode in\n%s", page)
	}
	return modules, bars, h[1]
}

// EAN digit patterns, written out here so the test does not trust the
// encoder: L (odd parity), G (even parity, left half) and R (right half).
var eanL = [10]string{"0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"}

// eanFirst is the L/G parity of the left six digits of an EAN-13 for each
// first digit.
var eanFirst = [10]string{"LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"}

func eanR(d int) string {
	return strings.Map(func(r rune) rune { return '0' + '1' - r }, eanL[d])
}

func eanG(d int) string {
	r := []byte(eanR(d))
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// decodeEAN reads EAN-13 (95 modules) or EAN-8 (67 modules) back to digits
// and checks guards and the check digit.
func decodeEAN(t *testing.T, modules []bool) string {
	t.Helper()
	var sb strings.Builder
	for _, b := range modules {
		sb.WriteByte("01"[btoi(b)])
	}
	s := sb.String()
	half := 6
	if len(s) == 67 {
		half = 4
	} else if len(s) != 95 {
		t.Fatalf("%d modules, want 95 (EAN-13) or 67 (EAN-8)", len(s))
	}
	mid := 3 + 7*half
	if s[:3] != "101" || s[mid:mid+5] != "01010" || s[len(s)-3:] != "101" {
		t.Fatalf("guard patterns wrong in %s", s)
	}
	find := func(pat string, enc func(int) string) int {
		for d := range 10 {
			if enc(d) == pat {
				return d
			}
		}
		return -1
	}
	var digits []int
	parity := ""
	for i := range half {
		pat := s[3+7*i : 10+7*i]
		if d := find(pat, func(d int) string { return eanL[d] }); d >= 0 {
			digits, parity = append(digits, d), parity+"L"
		} else if d := find(pat, eanG); d >= 0 && half == 6 {
			digits, parity = append(digits, d), parity+"G"
		} else {
			t.Fatalf("left digit %d: pattern %s is no L or G code", i+1, pat)
		}
	}
	for i := range half {
		pat := s[mid+5+7*i : mid+12+7*i]
		d := find(pat, eanR)
		if d < 0 {
			t.Fatalf("right digit %d: pattern %s is no R code", i+1, pat)
		}
		digits = append(digits, d)
	}
	if half == 6 {
		first := -1
		for d, p := range eanFirst {
			if p == parity {
				first = d
			}
		}
		if first < 0 {
			t.Fatalf("parity %s names no first digit", parity)
		}
		digits = append([]int{first}, digits...)
	}
	sum := 0
	for i, d := range digits[:len(digits)-1] {
		w := 1
		if (len(digits)-1-i)%2 == 1 {
			w = 3
		}
		sum += w * d
	}
	if check := (10 - sum%10) % 10; check != digits[len(digits)-1] {
		t.Errorf("check digit %d, want %d", digits[len(digits)-1], check)
	}
	out := ""
	for _, d := range digits {
		out += strconv.Itoa(d)
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestBarcodeSVGDecodesEAN(t *testing.T) {
	tests := []struct {
		name    string
		m       byte
		data    string
		want    string // digits read back from the bars
		wantHRI string
	}{
		{"EAN-13, 12 digits, printer adds the check digit", 67, "690123456789", "6901234567892", "6901234567892"},
		{"EAN-13, 13 digits", 67, "4006381333931", "4006381333931", "4006381333931"},
		{"EAN-13 form A", 2, "400638133393", "4006381333931", "4006381333931"},
		{"EAN-8", 68, "9638507", "96385074", "96385074"},
		{"UPC-A is EAN-13 with a leading 0", 65, "03600029145", "0036000291452", "036000291452"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, _ := renderBarcodeHTML(t, tt.m, []byte(tt.data))
			modules, _, hri := svgModules(t, page)
			if got := decodeEAN(t, modules); got != tt.want {
				t.Errorf("bars read back as %s, want %s", got, tt.want)
			}
			if hri != tt.wantHRI {
				t.Errorf("HRI %q, want %q", hri, tt.wantHRI)
			}
		})
	}
}

// TestBarcodeSVGShapes checks the other symbologies by their structure:
// module count and bar count follow from the data length.
func TestBarcodeSVGShapes(t *testing.T) {
	tests := []struct {
		name          string
		m             byte
		data          []byte
		modules, bars int
		hri           string
	}{
		// start, 3 characters, check (11 modules, 3 bars each), stop
		// (13 modules, 4 bars).
		{"CODE128 set B", 73, []byte("{BABC"), 68, 19, "ABC"},
		// set C: one symbol per byte, 2 digits each.
		{"CODE128 set C", 73, []byte{'{', 'C', 12, 34, 56}, 68, -1, "123456"},
		{"CODE128 auto", 79, []byte("ABC"), 68, 19, "ABC"},
		// *ABC*: 5 characters of 5 bars.
		{"CODE39", 69, []byte("ABC"), -1, 25, "*ABC*"},
		{"CODE39 with stars sent", 4, []byte("*ABC*"), -1, 25, "*ABC*"},
		// start (2 bars), 2 pairs of 5 bars, stop (2 bars).
		{"ITF", 70, []byte("1234"), -1, 14, "1234"},
		// A123B: 5 characters of 4 bars.
		{"CODABAR", 71, []byte("a123b"), -1, 20, "a123b"},
		// *ABC C K*: 7 characters of 9 modules and 3 bars, plus a termination bar.
		{"CODE93", 72, []byte("ABC"), 64, 22, "ABC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, _ := renderBarcodeHTML(t, tt.m, tt.data)
			modules, bars, hri := svgModules(t, page)
			if tt.modules >= 0 && len(modules) != tt.modules {
				t.Errorf("%d modules, want %d", len(modules), tt.modules)
			}
			if tt.bars >= 0 && bars != tt.bars {
				t.Errorf("%d bars, want %d", bars, tt.bars)
			}
			if !modules[0] || !modules[len(modules)-1] {
				t.Error("symbol does not start and end with a bar")
			}
			if hri != tt.hri {
				t.Errorf("HRI %q, want %q", hri, tt.hri)
			}
		})
	}
}

// TestBarcodeSVGCannotDraw: data a symbology cannot carry keeps the text
// form and gets a note in the HTML, never a panic; the text rendering is
// the same as for any barcode.
func TestBarcodeSVGCannotDraw(t *testing.T) {
	tests := []struct {
		name string
		m    byte
		data []byte
		text string
	}{
		{"letters in EAN-13", 67, []byte("69012345678A"), "[BARCODE EAN13: 69012345678A]"},
		{"EAN-13 wrong check digit", 67, []byte("6901234567890"), "[BARCODE EAN13: 6901234567890]"},
		{"EAN-8 too short", 68, []byte("123"), "[BARCODE EAN8: 123]"},
		{"ITF odd digit count", 70, []byte("123"), "[BARCODE ITF: 123]"},
		{"CODABAR without start/stop", 71, []byte("123"), "[BARCODE CODABAR: 123]"},
		{"CODE39 lower case", 69, []byte("abc"), "[BARCODE CODE39: abc]"},
		{"CODE128 set C byte over 99", 73, []byte{'{', 'C', 120}, "[BARCODE CODE128: x]"},
		{"CODE128 over 80 characters", 73, append([]byte("{B"), bytes.Repeat([]byte("A"), 81)...), "[BARCODE CODE128: " + strings.Repeat("A", 81) + "]"},
		{"CODE128 byte 0xF1 is not FNC1", 73, []byte("{B\xf1"), "[BARCODE CODE128: ?]"},
		{"UPC-E has no encoder", 66, []byte("0123456"), "[BARCODE UPC-E: 0123456]"},
		{"empty CODE93", 72, nil, "[BARCODE CODE93: ]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, text := renderBarcodeHTML(t, tt.m, tt.data)
			if strings.Contains(page, "<svg") {
				t.Errorf("drew a barcode for data it cannot carry:\n%s", page)
			}
			if !strings.Contains(page, tt.text) || !strings.Contains(page, `class="barcode-note"`) || !strings.Contains(page, "cannot draw") {
				t.Errorf("HTML lacks %q and a cannot-draw note:\n%s", tt.text, page)
			}
			if strings.TrimSpace(text) != tt.text {
				t.Errorf("text rendering %q, want %q", text, tt.text)
			}
		})
	}
}
