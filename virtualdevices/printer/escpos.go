package printer

import (
	"bufio"
	"fmt"
	"io"
)

// Control bytes of ESC/POS.
const (
	nul = 0x00
	eot = 0x04
	enq = 0x05
	ht  = 0x09
	lf  = 0x0A
	ff  = 0x0C
	cr  = 0x0D
	dle = 0x10
	dc4 = 0x14
	can = 0x18
	esc = 0x1B
	fs  = 0x1C
	gs  = 0x1D
)

// Limits on what the device accepts. A real 80 mm printer has 576 dots per
// line. A command whose header claims more than these (a wider or longer
// image, more graphics data) is refused at the header, as a real printer
// ignores a command with parameters out of range: the parser does not wait
// for the data it announced and goes on with the bytes that follow. It
// never swallows gigabytes for one bad header.
const (
	MaxRasterWidthDots  = 576
	MaxRasterHeightDots = 4095
	MaxRasterBytes      = 2 << 20
	maxBarcodeData      = 255
	maxTextRun          = 4096
	maxDownloadXY       = 1536 // GS * x*y
	maxNVImageWidth     = 1023 // FS q, in bytes per row (x)
	maxNVImageHeight    = 288  // FS q, in bytes per column (y)
	maxUserCharHeight   = 3    // ESC & y
)

// op is what a parsed command does to the printer.
type op int

const (
	opText        op = iota // printable bytes, data holds them
	opLF                    // print and line feed
	opTab                   // HT
	opInit                  // ESC @
	opBold                  // ESC E n
	opUnderline             // ESC - n
	opAlign                 // ESC a n
	opPrintMode             // ESC ! n
	opSize                  // GS ! n
	opFeedLines             // ESC d n
	opFeedDots              // ESC J n
	opCut                   // GS V, ESC i, ESC m
	opBarcode               // GS k; n is the form B type (65..79)
	opQRStore               // GS ( k fn 80
	opQRPrint               // GS ( k fn 81
	opRaster                // GS v 0; w bytes wide, h dots high
	opChineseOn             // FS &
	opChineseOff            // FS .
	opStatus                // DLE EOT n, answered at once
	opRealtime              // DLE ENQ, DLE DC4: real time, no answer here
	opPaperSensor           // GS r n: transmit status, answered in sequence
	opSkip                  // known, framed, no effect on the receipt
	opRejected              // known but refused (oversize); bytes consumed
	opUnknown               // not known; the command bytes are consumed
)

// command is one parsed ESC/POS command.
type command struct {
	op   op
	name string // mnemonic for logs and events, e.g. "ESC a"
	n    int    // first numeric argument
	data []byte
	w, h int // raster size: bytes per row, rows
	note string
}

func (c command) String() string {
	switch c.op {
	case opText:
		return fmt.Sprintf("text (%d bytes)", len(c.data))
	case opBarcode:
		return fmt.Sprintf("%s %s (%d bytes)", c.name, barcodeName(c.n), len(c.data))
	case opRaster:
		return fmt.Sprintf("%s %dx%d", c.name, c.w*8, c.h)
	case opRejected, opUnknown:
		if c.note != "" {
			return c.name + ": " + c.note
		}
		return c.name
	case opLF, opInit, opCut, opChineseOn, opChineseOff, opQRPrint, opTab:
		return c.name
	case opQRStore:
		return fmt.Sprintf("%s store (%d bytes)", c.name, len(c.data))
	case opSkip:
		if c.note != "" {
			return c.name + " (" + c.note + ")"
		}
		return c.name
	}
	return fmt.Sprintf("%s %d", c.name, c.n)
}

// parser reads commands from an ESC/POS byte stream. It never needs to look
// ahead past a command, so a slow link only delays it, and it keeps framing
// for every command whose length can be known from its bytes.
type parser struct {
	r *bufio.Reader
}

func newParser(r io.Reader) *parser {
	return &parser{r: bufio.NewReaderSize(r, 4096)}
}

// next returns the next command, or the read error (io.EOF at the end of the
// stream; a command cut short by the end is dropped).
func (p *parser) next() (command, error) {
	b, err := p.r.ReadByte()
	if err != nil {
		return command{}, err
	}
	switch b {
	case lf:
		return command{op: opLF, name: "LF"}, nil
	case ht:
		return command{op: opTab, name: "HT"}, nil
	case cr:
		// With auto line feed disabled (the default) CR is ignored.
		return command{op: opSkip, name: "CR"}, nil
	case ff, can:
		// Page-mode commands; without effect in standard mode.
		return command{op: opSkip, name: fmt.Sprintf("0x%02X", b)}, nil
	case esc:
		return p.esc()
	case gs:
		return p.gs()
	case fs:
		return p.fs()
	case dle:
		return p.dle()
	}
	if b < 0x20 || b == 0x7F {
		return command{op: opUnknown, name: fmt.Sprintf("0x%02X", b), note: "control byte"}, nil
	}
	return p.text(b), nil
}

// text collects a run of printable bytes that have already arrived. GB18030
// never uses bytes below 0x30 inside a character, so a run never splits a
// character at a control byte (it may at a read boundary; the renderer joins
// runs before decoding).
func (p *parser) text(first byte) command {
	data := []byte{first}
	for len(data) < maxTextRun && p.r.Buffered() > 0 {
		c, _ := p.r.ReadByte()
		if c < 0x20 || c == 0x7F {
			_ = p.r.UnreadByte()
			break
		}
		data = append(data, c)
	}
	return command{op: opText, name: "text", data: data}
}

func (p *parser) byte1() (int, error) {
	b, err := p.r.ReadByte()
	if err != nil {
		return 0, unexpected(err)
	}
	return int(b), nil
}

func (p *parser) word() (int, error) {
	lo, err := p.byte1()
	if err != nil {
		return 0, err
	}
	hi, err := p.byte1()
	return lo | hi<<8, err
}

func (p *parser) read(n int) ([]byte, error) {
	buf := make([]byte, n)
	_, err := io.ReadFull(p.r, buf)
	return buf, unexpected(err)
}

func (p *parser) discard(n int) error {
	_, err := p.r.Discard(n)
	return unexpected(err)
}

// skipN consumes n argument bytes of a command that has no effect here.
func (p *parser) skipN(name string, n int) (command, error) {
	if err := p.discard(n); err != nil {
		return command{}, err
	}
	return command{op: opSkip, name: name}, nil
}

// arg1 reads the single argument of a command.
func (p *parser) arg1(o op, name string) (command, error) {
	n, err := p.byte1()
	return command{op: o, name: name, n: n}, err
}

// refused is a command refused at its header: its data is not waited for.
func refused(name, why string) command {
	return command{op: opRejected, name: name, note: why + "; header skipped"}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (p *parser) esc() (command, error) {
	c, err := p.byte1()
	if err != nil {
		return command{}, err
	}
	name := "ESC " + printable(c)
	switch c {
	case '@':
		return command{op: opInit, name: name}, nil
	case 'E':
		return p.arg1(opBold, name)
	case '-':
		return p.arg1(opUnderline, name)
	case 'a':
		return p.arg1(opAlign, name)
	case '!':
		return p.arg1(opPrintMode, name)
	case 'd':
		return p.arg1(opFeedLines, name)
	case 'J':
		return p.arg1(opFeedDots, name)
	case 'i', 'm':
		return command{op: opCut, name: name}, nil
	case '2', '<', 'L', 'S', 'v', ff:
		return command{op: opSkip, name: name}, nil
	case ' ', '%', '3', '=', '?', 'G', 'M', 'R', 'T', 'U', 'V', 'e', 'r', 't', 'u', '{':
		return p.skipN(name, 1)
	case '$', '\\', 'c':
		return p.skipN(name, 2)
	case 'p':
		cmd, err := p.skipN(name, 3)
		cmd.note = "drawer kick"
		return cmd, err
	case 'W':
		return p.skipN(name, 8)
	case 'D':
		// Tab positions, up to 32, ended by NUL.
		for i := 0; i <= 32; i++ {
			b, err := p.byte1()
			if err != nil || b == nul {
				return command{op: opSkip, name: name}, err
			}
		}
		return command{op: opSkip, name: name}, nil
	case '*':
		m, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		n, err := p.word()
		if err != nil {
			return command{}, err
		}
		if n > MaxRasterWidthDots {
			return refused(name, fmt.Sprintf("bit image %d dots wide exceeds %d", n, MaxRasterWidthDots)), nil
		}
		if m == 32 || m == 33 {
			n *= 3
		}
		return p.skipN(name, n)
	case '&':
		// y c1 c2, then for each character c1..c2: x and y*x bytes.
		args, err := p.read(3)
		if err != nil {
			return command{}, err
		}
		y, c1, c2 := int(args[0]), int(args[1]), int(args[2])
		if y > maxUserCharHeight {
			return refused(name, fmt.Sprintf("character height %d bytes exceeds %d", y, maxUserCharHeight)), nil
		}
		for ch := c1; ch <= c2 && ch-c1 < 256; ch++ {
			x, err := p.byte1()
			if err != nil {
				return command{}, err
			}
			if err := p.discard(y * x); err != nil {
				return command{}, err
			}
		}
		return command{op: opSkip, name: name}, nil
	case '(':
		// ESC ( fn pL pH data.
		fn, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		n, err := p.word()
		if err != nil {
			return command{}, err
		}
		return p.skipN(name+" "+printable(fn), n)
	}
	return command{op: opUnknown, name: name}, nil
}

func (p *parser) gs() (command, error) {
	c, err := p.byte1()
	if err != nil {
		return command{}, err
	}
	name := "GS " + printable(c)
	switch c {
	case '!':
		return p.arg1(opSize, name)
	case 'V':
		m, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		switch m {
		case 65, 66, 97, 98, 103, 104:
			// Feed-and-cut forms carry a feed amount.
			if err := p.discard(1); err != nil {
				return command{}, err
			}
		}
		return command{op: opCut, name: name, n: m}, nil
	case 'k':
		return p.barcode()
	case 'v':
		return p.raster()
	case '(':
		return p.gsParen()
	case 'r':
		return p.arg1(opPaperSensor, name)
	case ':', 'c':
		return command{op: opSkip, name: name}, nil
	case '/', 'B', 'E', 'H', 'I', 'T', 'a', 'b', 'f', 'h', 'j', 'w':
		return p.skipN(name, 1)
	case 'L', 'P', 'W', '\\':
		return p.skipN(name, 2)
	case '^', 'z':
		return p.skipN(name, 3)
	case 'g':
		return p.skipN(name, 4)
	case '*':
		args, err := p.read(2)
		if err != nil {
			return command{}, err
		}
		if xy := int(args[0]) * int(args[1]); xy > maxDownloadXY {
			return refused(name, fmt.Sprintf("image %dx%d bytes exceeds %d", args[0], args[1], maxDownloadXY)), nil
		}
		return p.skipN(name, int(args[0])*int(args[1])*8)
	case '8':
		// GS 8 L p1 p2 p3 p4: the 32-bit form of GS ( L.
		args, err := p.read(5)
		if err != nil {
			return command{}, err
		}
		if args[0] != 'L' {
			return command{op: opUnknown, name: name + " " + printable(int(args[0]))}, nil
		}
		n := int(args[1]) | int(args[2])<<8 | int(args[3])<<16 | int(args[4])<<24
		if n > MaxRasterBytes {
			return refused("GS 8 L", fmt.Sprintf("%d bytes of graphics data exceed %d", n, MaxRasterBytes)), nil
		}
		if err := p.discard(n); err != nil {
			return command{}, err
		}
		return command{op: opSkip, name: "GS 8 L", note: fmt.Sprintf("%d bytes of graphics data ignored", n)}, nil
	case 'C':
		sub, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		switch sub {
		case '0', '2':
			return p.skipN(name+" "+printable(sub), 2)
		case '1':
			return p.skipN(name+" "+printable(sub), 6)
		}
		return command{op: opUnknown, name: name + " " + printable(sub)}, nil
	}
	return command{op: opUnknown, name: name}, nil
}

// barcode parses GS k in both forms: m 0..6 with NUL-terminated data, and
// m 65..79 with a length byte.
func (p *parser) barcode() (command, error) {
	const name = "GS k"
	m, err := p.byte1()
	if err != nil {
		return command{}, err
	}
	switch {
	case m <= 6:
		var data []byte
		for {
			b, err := p.byte1()
			if err != nil {
				return command{}, err
			}
			if b == nul {
				return command{op: opBarcode, name: name, n: m + 65, data: data}, nil
			}
			if len(data) == maxBarcodeData {
				return command{op: opRejected, name: name, note: "barcode data without NUL after 255 bytes"}, nil
			}
			data = append(data, byte(b))
		}
	case m >= 65 && m <= 79:
		n, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		data, err := p.read(n)
		if err != nil {
			return command{}, err
		}
		return command{op: opBarcode, name: name, n: m, data: data}, nil
	}
	return command{op: opUnknown, name: name, note: fmt.Sprintf("barcode type %d", m)}, nil
}

// raster parses GS v 0 m xL xH yL yH d1...dk, k = x*y.
func (p *parser) raster() (command, error) {
	args, err := p.read(6)
	if err != nil {
		return command{}, err
	}
	if args[0] != '0' {
		return command{op: opUnknown, name: "GS v " + printable(int(args[0]))}, nil
	}
	const name = "GS v 0"
	x := int(args[2]) | int(args[3])<<8
	y := int(args[4]) | int(args[5])<<8
	k := x * y
	if x*8 > MaxRasterWidthDots || y > MaxRasterHeightDots || k > MaxRasterBytes {
		// Refused at the header: the image data, if it comes, is parsed as
		// what it looks like, so one bad header cannot make the printer deaf.
		cmd := refused(name, fmt.Sprintf("image %dx%d dots (%d bytes) exceeds %dx%d dots", x*8, y, k, MaxRasterWidthDots, MaxRasterHeightDots))
		cmd.w, cmd.h = x, y
		return cmd, nil
	}
	data, err := p.read(k)
	if err != nil {
		return command{}, err
	}
	return command{op: opRaster, name: name, n: int(args[1]), w: x, h: y, data: data}, nil
}

// gsParen parses the length-prefixed GS ( fn pL pH ... family; of it only
// GS ( k for QR codes has an effect.
func (p *parser) gsParen() (command, error) {
	fn, err := p.byte1()
	if err != nil {
		return command{}, err
	}
	n, err := p.word()
	if err != nil {
		return command{}, err
	}
	name := "GS ( " + printable(fn)
	if fn != 'k' || n < 2 {
		return p.skipN(name, n)
	}
	args, err := p.read(2)
	if err != nil {
		return command{}, err
	}
	cn, fnk := args[0], args[1]
	rest := n - 2
	if cn != 49 { // PDF417, MaxiCode, DataBar, Aztec, DataMatrix
		cmd, err := p.skipN(name, rest)
		cmd.note = fmt.Sprintf("2D symbol cn=%d not rendered", cn)
		return cmd, err
	}
	switch fnk {
	case 80: // store: m d1..dk
		if rest < 1 {
			return command{op: opQRStore, name: name}, nil
		}
		if err := p.discard(1); err != nil {
			return command{}, err
		}
		data, err := p.read(rest - 1)
		if err != nil {
			return command{}, err
		}
		return command{op: opQRStore, name: name, data: data}, nil
	case 81:
		if err := p.discard(rest); err != nil {
			return command{}, err
		}
		return command{op: opQRPrint, name: name + " print"}, nil
	}
	cmd, err := p.skipN(name, rest)
	cmd.note = fmt.Sprintf("QR setting fn=%d", fnk)
	return cmd, err
}

func (p *parser) fs() (command, error) {
	c, err := p.byte1()
	if err != nil {
		return command{}, err
	}
	name := "FS " + printable(c)
	switch c {
	case '&':
		return command{op: opChineseOn, name: name}, nil
	case '.':
		return command{op: opChineseOff, name: name}, nil
	case '!', '-', 'C', 'W':
		return p.skipN(name, 1)
	case '?', 'S', 'p':
		return p.skipN(name, 2)
	case '2':
		return p.skipN(name, 2+72)
	case '(':
		fn, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		n, err := p.word()
		if err != nil {
			return command{}, err
		}
		return p.skipN(name+" "+printable(fn), n)
	case 'q':
		// n images, each xL xH yL yH and x*y*8 bytes.
		n, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		for i := 0; i < n; i++ {
			x, err := p.word()
			if err != nil {
				return command{}, err
			}
			y, err := p.word()
			if err != nil {
				return command{}, err
			}
			if x > maxNVImageWidth || y > maxNVImageHeight {
				return refused(name, fmt.Sprintf("NV image %dx%d bytes exceeds %dx%d", x, y, maxNVImageWidth, maxNVImageHeight)), nil
			}
			if err := p.discard(x * y * 8); err != nil {
				return command{}, err
			}
		}
		return command{op: opSkip, name: name, note: "NV images ignored"}, nil
	}
	return command{op: opUnknown, name: name}, nil
}

func (p *parser) dle() (command, error) {
	c, err := p.byte1()
	if err != nil {
		return command{}, err
	}
	switch c {
	case eot:
		n, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		if n == 7 || n == 8 {
			// Ink and extended status on some models: one more byte, no answer here.
			return p.skipN(fmt.Sprintf("DLE EOT %d", n), 1)
		}
		return command{op: opStatus, name: "DLE EOT", n: n}, nil
	case enq:
		return p.arg1(opRealtime, "DLE ENQ")
	case dc4:
		fn, err := p.byte1()
		if err != nil {
			return command{}, err
		}
		extra := 0
		switch fn {
		case 1, 2:
			extra = 2
		case 7:
			extra = 1
		case 8:
			extra = 7
		}
		if err := p.discard(extra); err != nil {
			return command{}, err
		}
		return command{op: opRealtime, name: "DLE DC4", n: fn}, nil
	}
	// A lone DLE: the following byte is parsed as usual.
	_ = p.r.UnreadByte()
	return command{op: opUnknown, name: "DLE", note: "not followed by EOT, ENQ or DC4"}, nil
}

// printable names a command byte the way ESC/POS manuals do.
func printable(b int) string {
	if b > 0x20 && b < 0x7F {
		return string(rune(b))
	}
	return fmt.Sprintf("0x%02X", b)
}
