package printer

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// itemLine lays out a name and a price on one 42-column line.
func itemLine(name, price string) string {
	return name + strings.Repeat(" ", max(1, Columns-textCells(name)-len(price))) + price
}

func asciiReceipt() []byte {
	return NewBuilder(ASCII).Init().
		Align(Center).Size(2, 2).Bold(true).Line("DEMO MART").Size(1, 1).Bold(false).
		Line("Merchant 123456789012345").
		Line("Terminal TERM0001").
		Align(Left).Line(strings.Repeat("-", Columns)).
		Line(itemLine("Green tea x2", "7.00")).
		Line(itemLine("Bread", "8.00")).
		Line(itemLine("Rice 5 kg", "45.90")).
		Line(strings.Repeat("-", Columns)).
		Bold(true).Line(itemLine("TOTAL", "CNY 60.90")).Bold(false).
		Line("Card 476173******0010  VISA CREDIT  SALE").
		Text("Ref\t000123\tAuth\t654321").Line("").
		Line("This line is longer than forty-two columns, so the printer wraps it.").
		Underline(true).Line("No signature required").Underline(false).
		Size(2, 1).Line("APPROVED").Size(1, 1).
		Align(Right).Line("2026-01-02 15:04").
		Align(Center).Line("Thank you!").
		Feed(3).Cut().Bytes()
}

func chineseReceipt() []byte {
	return NewBuilder(GB18030).Init().
		Align(Center).Size(2, 2).Line("演示超市").Size(1, 1).
		Line("商户编号 123456789012345").
		Align(Left).Line(strings.Repeat("-", Columns)).
		Line(itemLine("绿茶 x2", "7.00")).
		Line(itemLine("面包", "8.00")).
		Line(itemLine("大米 5公斤", "45.90")).
		Line(strings.Repeat("-", Columns)).
		Bold(true).Line(itemLine("合计 人民币", "60.90")).Bold(false).
		Line("卡号 476173******0010 消费").
		Line("这一行很长很长很长很长很长很长很长很长很长很长，打印机会自动换行。").
		Line("罕用字 𠀀 欧元 €").
		Align(Center).Line("谢谢惠顾，欢迎再次光临！").
		Feed(2).Cut().Bytes()
}

func codesReceipt() []byte {
	img := make([]byte, 4*16) // 32x16 dots: a frame with a diagonal
	for y := 0; y < 16; y++ {
		for x := 0; x < 32; x++ {
			if y == 0 || y == 15 || x == 0 || x == 31 || x == 2*y {
				img[y*4+x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return NewBuilder(ASCII).Init().
		Align(Center).Line("CODES").
		Barcode(CODE128, "6901234567892").Line("").
		Barcode(EAN13, "690123456789").Line("").
		Raw([]byte{gs, 'k', 73, 5, '{', 'C', 12, 34, 56}).Line(""). // CODE128 set C
		Raw([]byte{gs, 'k', 4, 'A', 'B', 'C', nul}).                // CODE39, NUL form
		QR("https://pay.example/qr/281234567890123456").
		Raster(4, 16, img).
		Align(Left).Line("end").
		Cut().Bytes()
}

func TestGoldenReceipts(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		chinese bool
	}{
		{"ascii", asciiReceipt(), false},
		{"chinese", chineseReceipt(), false}, // FS & from Init selects GB18030
		{"codes", codesReceipt(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestPrinter(t, Config{Chinese: tt.chinese})
			feed(t, p, tt.data)
			rs := p.Receipts()
			if len(rs) != 1 {
				t.Fatalf("got %d receipts, want 1", len(rs))
			}
			checkGolden(t, tt.name+".escpos", tt.data)
			checkGolden(t, tt.name+".txt", []byte(rs[0].Text))
			checkGolden(t, tt.name+".html", []byte(rs[0].HTML))
			for i, line := range strings.Split(strings.TrimSuffix(rs[0].Text, "\n"), "\n") {
				if n := textCells(line); n > Columns && !strings.HasPrefix(strings.TrimSpace(line), "[") {
					t.Errorf("line %d is %d cells wide, more than %d: %q", i+1, n, Columns, line)
				}
			}
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n%s", path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, w, g)
		}
	}
	return "(lengths differ)"
}
