package printer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes through the parser and the renderer: they
// must never panic, and every text line must fit the paper.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.escpos"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Add([]byte{gs, 'v', '0', 0, 0xFF, 0xFF, 0xFF, 0xFF}, false)
	f.Add([]byte{gs, '(', 'k', 0xFF, 0xFF, 49, 80, 48}, true)
	f.Fuzz(func(t *testing.T, data []byte, chinese bool) {
		e := newEngine(chinese)
		ps := newParser(bytes.NewReader(data))
		var page []item
		for {
			c, err := ps.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if e.apply(c) {
				page = append(page, e.takePage()...)
			}
		}
		e.apply(command{op: opCut})
		page = append(page, e.takePage()...)
		text, html := renderText(page), renderHTML(page)
		if !utf8.ValidString(text) || !utf8.ValidString(html) {
			t.Fatal("rendering is not valid UTF-8")
		}
		for _, it := range page {
			if it.kind == itemText && it.cells > Columns {
				t.Fatalf("text line of %d cells: %q", it.cells, spansText(it.spans))
			}
			if it.kind == itemText && strings.ContainsAny(spansText(it.spans), "\n\r") {
				t.Fatalf("line break inside a line: %q", spansText(it.spans))
			}
		}
	})
}

func BenchmarkParseAndRender(b *testing.B) {
	data := asciiReceipt()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e := newEngine(false)
		ps := newParser(bytes.NewReader(data))
		for {
			c, err := ps.next()
			if err != nil {
				break
			}
			if e.apply(c) {
				page := e.takePage()
				_, _ = renderText(page), renderHTML(page)
			}
		}
	}
}
