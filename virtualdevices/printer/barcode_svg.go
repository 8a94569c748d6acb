package printer

import (
	"errors"
	"fmt"
	"html"
	"strings"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/codabar"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/code39"
	"github.com/boombuler/barcode/code93"
	"github.com/boombuler/barcode/ean"
	"github.com/boombuler/barcode/twooffive"
)

// Barcode drawing in the HTML rendering. The symbologies themselves (check
// digits, code sets, start and stop patterns) come from boombuler/barcode;
// this file only turns GS k data into what that library takes and the
// resulting modules into SVG bars.

const (
	barModulePx = 2  // GS w default: 2 dots per module
	barHeightPx = 48 // shorter than the printer's 162 dots, to keep receipts compact
)

// symbol is an encoded barcode: one bool per module (true is a bar) and
// the human-readable line printed under it.
type symbol struct {
	modules []bool
	hri     string
}

// encodeBarcode encodes GS k data of form B type m. It never panics: a
// library failure on odd data is an error like any other.
func encodeBarcode(m int, data []byte) (sym symbol, err error) {
	defer func() {
		if r := recover(); r != nil {
			sym, err = symbol{}, fmt.Errorf("encoder failed: %v", r)
		}
	}()
	if len(data) == 0 {
		return symbol{}, errors.New("no data")
	}
	var bc barcode.Barcode
	hri := barcodeText(m, data)
	s := string(data)
	switch m {
	case 65: // UPC-A is EAN-13 with a leading 0
		if err := digitsOnly(s, 11, 12); err != nil {
			return symbol{}, err
		}
		bc, err = ean.Encode("0" + s)
		if err == nil {
			hri = bc.Content()[1:]
		}
	case 67, 68: // EAN13, EAN8
		n := 12
		if m == 68 {
			n = 7
		}
		if err := digitsOnly(s, n, n+1); err != nil {
			return symbol{}, err
		}
		bc, err = ean.Encode(s)
		if err == nil {
			hri = bc.Content()
		}
	case 69: // CODE39: the start/stop '*' may be sent or left to the printer
		bc, err = code39.Encode(strings.Trim(s, "*"), false, false)
		if err == nil {
			hri = "*" + strings.Trim(s, "*") + "*"
		}
	case 70: // ITF
		if err := digitsOnly(s, 2, maxBarcodeData); err != nil {
			return symbol{}, err
		}
		bc, err = twooffive.Encode(s, true)
	case 71: // CODABAR: start/stop A-D, which printers also take in lower case
		if len(s) >= 2 {
			s = strings.ToUpper(s[:1]) + s[1:len(s)-1] + strings.ToUpper(s[len(s)-1:])
		}
		bc, err = codabar.Encode(s)
	case 72: // CODE93 covers all of ASCII; the printer adds both check characters
		if err := asciiOnly(s); err != nil {
			return symbol{}, err
		}
		bc, err = code93.Encode(s, true, true)
	case 73, 79: // CODE128 with code-set selectors, CODE128 auto
		content := s
		if m == 73 {
			content, err = code128Content(data)
			if err != nil {
				return symbol{}, err
			}
		} else if err := asciiOnly(s); err != nil {
			return symbol{}, err
		}
		bc, err = code128.Encode(content)
	default:
		return symbol{}, fmt.Errorf("no encoder for %s", barcodeName(m))
	}
	if err != nil {
		return symbol{}, err
	}
	b := bc.Bounds()
	mods := make([]bool, 0, b.Dx())
	for x := b.Min.X; x < b.Max.X; x++ {
		r, _, _, _ := bc.At(x, b.Min.Y).RGBA()
		mods = append(mods, r < 0x8000)
	}
	return symbol{modules: mods, hri: hri}, nil
}

func digitsOnly(s string, minLen, maxLen int) error {
	if len(s) < minLen || len(s) > maxLen {
		if minLen+1 == maxLen {
			return fmt.Errorf("%d digits, want %d or %d", len(s), minLen, maxLen)
		}
		return fmt.Errorf("%d digits, want %d to %d", len(s), minLen, maxLen)
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("byte %d is %q, want a digit", i+1, s[i])
		}
	}
	return nil
}

func asciiOnly(s string) error {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return fmt.Errorf("byte %d is 0x%02X, outside ASCII", i+1, s[i])
		}
	}
	return nil
}

// code128Content turns GS k 73 data into the characters to encode: the
// code-set selectors go (the library picks the shortest code sets itself,
// so the bars may differ from the printer's, the data does not), a set C
// byte becomes two digits, {1..{4 become FNC1..FNC4 and {{ a brace.
func code128Content(data []byte) (string, error) {
	var sb strings.Builder
	setC := false
	for i := 0; i < len(data); i++ {
		b := data[i]
		if b == '{' && i+1 < len(data) {
			i++
			switch data[i] {
			case 'A', 'B':
				setC = false
			case 'C':
				setC = true
			case 'S': // shift: the next character from the other of A and B
			case '1':
				sb.WriteRune(code128.FNC1)
			case '2':
				sb.WriteRune(code128.FNC2)
			case '3':
				sb.WriteRune(code128.FNC3)
			case '4':
				sb.WriteRune(code128.FNC4)
			case '{':
				sb.WriteByte('{')
			default:
				return "", fmt.Errorf("byte %d: unknown code-set selector {%c", i, data[i])
			}
			continue
		}
		switch {
		case setC && b < 100:
			fmt.Fprintf(&sb, "%02d", b)
		case setC:
			return "", fmt.Errorf("byte %d is %d, code set C takes 0 to 99", i+1, b)
		case b >= 0x80:
			return "", fmt.Errorf("byte %d is 0x%02X, outside code sets A and B", i+1, b)
		default:
			sb.WriteByte(b)
		}
	}
	if sb.Len() == 0 {
		return "", errors.New("no data")
	}
	return sb.String(), nil
}

// writeBarcodeSVG draws a barcode as inline SVG, one <rect> per bar in
// module units (the viewBox scales them to barModulePx dots a module), a
// 10-module quiet zone as padding so a scanner held to the screen reads
// it, and the human-readable line under it, where the printer prints HRI
// by default (GS H is not parsed, so its position is not honoured).
// Data the symbology cannot carry is shown as in the text rendering with a
// note saying why it is not drawn.
func writeBarcodeSVG(sb *strings.Builder, it item) {
	sym, err := encodeBarcode(it.barcodeType, it.data)
	if err != nil {
		fmt.Fprintf(sb, `[BARCODE %s: %s]<br><span class="barcode-note" style="color:#b00">cannot draw %s: %s</span>`,
			html.EscapeString(it.kindName), html.EscapeString(it.text), html.EscapeString(it.kindName), html.EscapeString(err.Error()))
		return
	}
	n := len(sym.modules)
	fmt.Fprintf(sb, `<svg class="barcode" data-symbology="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" preserveAspectRatio="none" style="max-width:100%%;padding:0 20px;background:#fff" role="img" aria-label="%s">`,
		html.EscapeString(it.kindName), n*barModulePx, barHeightPx, n, barHeightPx, html.EscapeString(it.kindName+" "+sym.hri))
	for i := 0; i < n; {
		if !sym.modules[i] {
			i++
			continue
		}
		j := i
		for j < n && sym.modules[j] {
			j++
		}
		fmt.Fprintf(sb, `<rect x="%d" y="0" width="%d" height="%d"/>`, i, j-i, barHeightPx)
		i = j
	}
	fmt.Fprintf(sb, `</svg><br><span class="hri">%s</span>`, html.EscapeString(sym.hri))
}
