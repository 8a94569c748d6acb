package printer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// Each command is framed between two lines of text: if its argument bytes
// were not all consumed, they would show up in the receipt or eat "B".
func TestCommandsKeepFraming(t *testing.T) {
	big := func(n int) []byte { return bytes.Repeat([]byte{'X'}, n) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name  string
		cmd   []byte
		event string // kind of the event the command produces
	}{
		{"ESC t n", []byte{esc, 't', 'X'}, EventCommand},
		{"ESC 2", []byte{esc, '2'}, EventCommand},
		{"ESC 3 n", []byte{esc, '3', 'X'}, EventCommand},
		{"ESC J n", []byte{esc, 'J', 'X'}, EventCommand},
		{"ESC SP n", []byte{esc, ' ', 'X'}, EventCommand},
		{"ESC $ nL nH", []byte{esc, '$', 'X', 'X'}, EventCommand},
		{"ESC p drawer", []byte{esc, 'p', 0, 'X', 'X'}, EventCommand},
		{"ESC M n", []byte{esc, 'M', 'X'}, EventCommand},
		{"ESC G n", []byte{esc, 'G', 'X'}, EventCommand},
		{"ESC D tabs", []byte{esc, 'D', 8, 16, 24, nul}, EventCommand},
		{"ESC * bit image 24-dot", cat([]byte{esc, '*', 33, 2, 0}, big(6)), EventCommand},
		{"ESC & user chars", cat([]byte{esc, '&', 3, 'A', 'B', 2}, big(6), []byte{1}, big(3)), EventCommand},
		{"ESC W page area", cat([]byte{esc, 'W'}, big(8)), EventCommand},
		{"ESC c 5 n", []byte{esc, 'c', '5', 'X'}, EventCommand},
		{"GS B n", []byte{gs, 'B', 'X'}, EventCommand},
		{"GS L nL nH", []byte{gs, 'L', 'X', 'X'}, EventCommand},
		{"GS W nL nH", []byte{gs, 'W', 'X', 'X'}, EventCommand},
		{"GS H n", []byte{gs, 'H', 'X'}, EventCommand},
		{"GS h n", []byte{gs, 'h', 'X'}, EventCommand},
		{"GS w n", []byte{gs, 'w', 'X'}, EventCommand},
		{"GS a ASB", []byte{gs, 'a', 'X'}, EventCommand},
		{"GS ( L graphics", cat([]byte{gs, '(', 'L', 10, 0}, big(10)), EventCommand},
		{"GS 8 L graphics", cat([]byte{gs, '8', 'L', 0, 1, 0, 0}, big(256)), EventCommand},
		{"GS ( k PDF417", cat([]byte{gs, '(', 'k', 5, 0, 48, 80, 48}, big(2)), EventCommand},
		{"GS ( k QR size", []byte{gs, '(', 'k', 3, 0, 49, 67, 'X'}, EventCommand},
		{"GS * download", cat([]byte{gs, '*', 1, 2}, big(16)), EventCommand},
		{"FS & FS .", []byte{fs, '&', fs, '.'}, EventCommand},
		{"FS ! n", []byte{fs, '!', 'X'}, EventCommand},
		{"FS 2 user kanji", cat([]byte{fs, '2', 0xFE, 0xA1}, big(72)), EventCommand},
		{"FS p NV image", []byte{fs, 'p', 1, 'X'}, EventCommand},
		{"FS q NV define", cat([]byte{fs, 'q', 1, 1, 0, 1, 0}, big(8)), EventCommand},
		{"DLE ENQ n", []byte{dle, enq, 'X'}, EventCommand},
		{"DLE DC4 pulse", []byte{dle, dc4, 1, 'X', 'X'}, EventCommand},
		{"DLE EOT 7 n", []byte{dle, eot, 7, 'X'}, EventCommand},
		{"DLE EOT 9 unknown", []byte{dle, eot, 9}, EventUnknown},
		{"CR", []byte{cr}, EventCommand},
		{"unknown ESC", []byte{esc, 'y'}, EventUnknown},
		{"unknown GS", []byte{gs, 'y'}, EventUnknown},
		{"unknown FS", []byte{fs, 'y'}, EventUnknown},
		{"lone DLE", []byte{dle}, EventUnknown},
		{"control byte", []byte{0x01}, EventUnknown},
		{"unknown barcode type", []byte{gs, 'k', 30}, EventUnknown},
		// Refused at the header: what follows is parsed as usual.
		{"oversize raster wide", []byte{gs, 'v', '0', 0, 73, 0, 1, 0}, EventRejected},
		{"oversize raster long", []byte{gs, 'v', '0', 0, 64, 0, 0x01, 0x80}, EventRejected},
		{"raster claiming 4 GiB", []byte{gs, 'v', '0', 0, 0xFF, 0xFF, 0xFF, 0xFF}, EventRejected},
		{"GS 8 L claiming 4 GiB", []byte{gs, '8', 'L', 0xFF, 0xFF, 0xFF, 0xFF}, EventRejected},
		{"FS q huge NV image", []byte{fs, 'q', 1, 0xFF, 0xFF, 0xFF, 0xFF}, EventRejected},
		{"ESC * too wide", []byte{esc, '*', 33, 0xFF, 0xFF}, EventRejected},
		{"ESC & too high", []byte{esc, '&', 200, 'A', 'B'}, EventRejected},
		{"GS * too large", []byte{gs, '*', 0xFF, 0xFF}, EventRejected},
		{"barcode without NUL", cat([]byte{gs, 'k', 4}, big(256)), EventRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, rec := newTestPrinter(t, Config{})
			feed(t, p, cat([]byte("A\n"), tt.cmd, []byte("B\n"), []byte{gs, 'V', 0}))
			r, ok := p.LastReceipt()
			if !ok || r.Text != "A\nB\n" {
				t.Errorf("receipt = %q, want \"A\\nB\\n\"", r.Text)
			}
			if got := rec.kinds(tt.event); len(got) == 0 {
				t.Errorf("no %s event; events: %+v", tt.event, rec.events)
			}
		})
	}
}

func TestTruncatedCommandEndsStream(t *testing.T) {
	for _, data := range [][]byte{
		{esc}, {esc, 'a'}, {gs, 'k', 73, 5, '1'}, {gs, 'v', '0', 0, 1, 0}, {gs, '(', 'k', 10, 0, 49, 80},
		{dle, eot}, {gs, '8', 'L', 1, 0, 0, 0},
	} {
		ps := newParser(bytes.NewReader(data))
		_, err := ps.next()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("% X: err = %v, want unexpected EOF", data, err)
		}
	}
}

func TestFormatting(t *testing.T) {
	p, _ := newTestPrinter(t, Config{})
	feed(t, p, []byte("\x1b!\x08bold\x1b!\x80under\x1b!\x00\x1dB\x01plain\n\x1b-\x02u2\x1b-0\x1bE\x01b\x1bE\x00x\n\x1bd\x00\x1d!\x11big\x1bJ\x10end\x1dV\x41\x03"))
	r, _ := p.LastReceipt()
	if want := "boldunderplain\nu2bx\nbig\nend\n"; r.Text != want {
		t.Errorf("text = %q, want %q", r.Text, want)
	}
	for _, want := range []string{"<b>bold</b>", "<u>under</u>", "plain", "<u>u2</u>", "<b>b</b>", `<span style="font-size:200%">big</span>`} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, r.HTML)
		}
	}
}

func TestCommandStrings(t *testing.T) {
	// Events carry command summaries; make sure each op has a readable one.
	for _, c := range []command{
		{op: opText, data: []byte("ab")}, {op: opBarcode, name: "GS k", n: 73, data: []byte("{B1")},
		{op: opRaster, name: "GS v 0", w: 2, h: 3}, {op: opAlign, name: "ESC a", n: 1},
		{op: opQRStore, name: "GS ( k", data: []byte("x")}, {op: opSkip, name: "ESC p", note: "drawer kick"},
	} {
		if s := c.String(); s == "" || strings.Contains(s, "%!") {
			t.Errorf("command %+v String() = %q", c, s)
		}
	}
}

func TestBuilderTextCannotInjectCommands(t *testing.T) {
	p, _ := newTestPrinter(t, Config{})
	feed(t, p, NewBuilder(ASCII).Init().Line("Tea\x1bi\x1dV\x00\x10\x04\x01").Line("a\tb").Cut().Bytes())
	rs := p.Receipts()
	if want := "Tea?i?V????\na       b\n"; len(rs) != 1 || rs[0].Text != want {
		t.Errorf("receipts = %+v, want one with %q", rs, want)
	}
}
