package printer

import (
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Encoding is the character set a Builder writes text in.
type Encoding int

const (
	ASCII   Encoding = iota // other characters become '?'
	GB18030                 // Chinese printers; Init selects Chinese mode (FS &)
)

// Align is a line alignment for Builder.Align.
type Align int

const (
	Left Align = iota
	Center
	Right
)

// BarcodeKind is a GS k barcode type (the form with a length byte).
type BarcodeKind byte

const (
	UPCA    BarcodeKind = 65
	UPCE    BarcodeKind = 66
	EAN13   BarcodeKind = 67
	EAN8    BarcodeKind = 68
	CODE39  BarcodeKind = 69
	ITF     BarcodeKind = 70
	CODABAR BarcodeKind = 71
	CODE93  BarcodeKind = 72
	CODE128 BarcodeKind = 73
)

// Builder writes an ESC/POS receipt. Its methods chain:
//
//	b := printer.NewBuilder(printer.ASCII).Init().Align(printer.Center).Line("DEMO MART").Cut()
type Builder struct {
	enc Encoding
	gb  *encoding.Encoder
	buf []byte
}

// NewBuilder returns an empty builder writing text in enc.
func NewBuilder(enc Encoding) *Builder {
	b := &Builder{enc: enc}
	if enc == GB18030 {
		b.gb = encoding.ReplaceUnsupported(simplifiedchinese.GB18030.NewEncoder())
	}
	return b
}

// Init resets the printer (ESC @) and, for GB18030, selects Chinese mode.
func (b *Builder) Init() *Builder {
	b.buf = append(b.buf, esc, '@')
	if b.enc == GB18030 {
		b.buf = append(b.buf, fs, '&')
	}
	return b
}

// Align sets the alignment of the lines that follow (ESC a).
func (b *Builder) Align(a Align) *Builder {
	b.buf = append(b.buf, esc, 'a', byte(a))
	return b
}

// Bold turns emphasized mode on or off (ESC E).
func (b *Builder) Bold(on bool) *Builder {
	b.buf = append(b.buf, esc, 'E', bit(on))
	return b
}

// Underline turns underline on or off (ESC -).
func (b *Builder) Underline(on bool) *Builder {
	b.buf = append(b.buf, esc, '-', bit(on))
	return b
}

// Size sets the character width and height multipliers, 1 to 8 (GS !).
func (b *Builder) Size(w, h int) *Builder {
	w, h = min(max(w, 1), 8), min(max(h, 1), 8)
	b.buf = append(b.buf, gs, '!', byte((w-1)<<4|(h-1)))
	return b
}

// Text adds s in the builder's encoding, without a line feed. '\n' becomes
// LF and '\t' HT; other control characters become '?', so text (an item
// name, a merchant name) can never smuggle in a command.
func (b *Builder) Text(s string) *Builder {
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7F {
			return '?'
		}
		return r
	}, s)
	if b.gb != nil {
		out, err := b.gb.String(s)
		if err == nil {
			b.buf = append(b.buf, out...)
			return b
		}
	}
	for _, r := range s {
		if r >= 0x80 {
			r = '?'
		}
		b.buf = append(b.buf, byte(r))
	}
	return b
}

// Line adds s and a line feed.
func (b *Builder) Line(s string) *Builder {
	b.Text(s)
	b.buf = append(b.buf, lf)
	return b
}

// Feed prints the buffer and feeds n lines (ESC d), n up to 255.
func (b *Builder) Feed(n int) *Builder {
	b.buf = append(b.buf, esc, 'd', byte(min(max(n, 0), 255)))
	return b
}

// Barcode prints a barcode (GS k, form with a length byte). CODE128 data
// without a code-set selector gets "{B". Data beyond 255 bytes is dropped.
func (b *Builder) Barcode(kind BarcodeKind, data string) *Builder {
	if kind == CODE128 && (len(data) < 2 || data[0] != '{') {
		data = "{B" + data
	}
	if len(data) > 255 {
		data = data[:255]
	}
	b.buf = append(b.buf, gs, 'k', byte(kind), byte(len(data)))
	b.buf = append(b.buf, data...)
	return b
}

// QR prints a model 2 QR code, module size 6, error correction M (GS ( k).
func (b *Builder) QR(data string) *Builder {
	if len(data) > 7089 {
		data = data[:7089]
	}
	b.buf = append(b.buf,
		gs, '(', 'k', 4, 0, 49, 65, 50, 0, // model 2
		gs, '(', 'k', 3, 0, 49, 67, 6, // module size
		gs, '(', 'k', 3, 0, 49, 69, 49, // error correction M
	)
	n := len(data) + 3
	b.buf = append(b.buf, gs, '(', 'k', byte(n), byte(n>>8), 49, 80, 48)
	b.buf = append(b.buf, data...)
	b.buf = append(b.buf, gs, '(', 'k', 3, 0, 49, 81, 48) // print
	return b
}

// Raster prints a bit image (GS v 0): widthBytes*8 dots wide, height dots
// high, one bit per dot, MSB first, rows top to bottom.
func (b *Builder) Raster(widthBytes, height int, data []byte) *Builder {
	b.buf = append(b.buf, gs, 'v', '0', 0, byte(widthBytes), byte(widthBytes>>8), byte(height), byte(height>>8))
	b.buf = append(b.buf, data...)
	return b
}

// Cut feeds to the cutter and cuts the paper (GS V 66 0).
func (b *Builder) Cut() *Builder {
	b.buf = append(b.buf, gs, 'V', 66, 0)
	return b
}

// Raw adds bytes as they are, for commands the builder does not offer.
func (b *Builder) Raw(p []byte) *Builder {
	b.buf = append(b.buf, p...)
	return b
}

// Bytes returns the receipt built so far. The slice is the builder's own.
func (b *Builder) Bytes() []byte { return b.buf }

func bit(on bool) byte {
	if on {
		return 1
	}
	return 0
}
