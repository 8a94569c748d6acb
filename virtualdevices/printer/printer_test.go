package printer

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
)

func TestStatusBytes(t *testing.T) {
	tests := []struct {
		name  string
		setup func(p *Printer)
		want  [4]byte // DLE EOT 1, 2, 3, 4
		ready bool
	}{
		{"ready", func(p *Printer) {}, [4]byte{0x12, 0x12, 0x12, 0x12}, true},
		{"paper near end", (*Printer).PaperNearEnd, [4]byte{0x12, 0x12, 0x12, 0x1E}, true},
		{"paper out", (*Printer).PaperOut, [4]byte{0x1A, 0x32, 0x12, 0x7E}, false},
		{"cover open", (*Printer).OpenCover, [4]byte{0x1A, 0x16, 0x12, 0x12}, false},
		{"broken", (*Printer).Break, [4]byte{0x1A, 0x52, 0x32, 0x12}, false},
		{"paper out and cover open", func(p *Printer) { p.PaperOut(); p.OpenCover() }, [4]byte{0x1A, 0x36, 0x12, 0x7E}, false},
		{"paper loaded again", func(p *Printer) { p.PaperOut(); p.LoadPaper() }, [4]byte{0x12, 0x12, 0x12, 0x12}, true},
		{"cover closed again", func(p *Printer) { p.OpenCover(); p.CloseCover() }, [4]byte{0x12, 0x12, 0x12, 0x12}, true},
		{"fixed", func(p *Printer) { p.Break(); p.Fix() }, [4]byte{0x12, 0x12, 0x12, 0x12}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, _ := newTestPrinter(t, Config{})
				tt.setup(p)
				pos := pipeLink(t, p)
				var got [4]byte
				for n := 1; n <= 4; n++ {
					if _, err := pos.Write([]byte{dle, eot, byte(n)}); err != nil {
						t.Fatal(err)
					}
					if _, err := io.ReadFull(pos, got[n-1:n]); err != nil {
						t.Fatal(err)
					}
				}
				if got != tt.want {
					t.Errorf("DLE EOT 1..4 = % X, want % X", got, tt.want)
				}
				st, err := NewDriver(pos).Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if st.Ready() != tt.ready {
					t.Errorf("driver status %+v: ready = %v, want %v", st, st.Ready(), tt.ready)
				}
				if st != p.Status() {
					t.Errorf("driver read %+v, device reports %+v", st, p.Status())
				}
			})
		})
	}
}

func TestRefusesWhenNotReadyThenPrints(t *testing.T) {
	receipt := NewBuilder(ASCII).Init().Line("SALE 3.50").Cut().Bytes()
	for _, tt := range []struct {
		name     string
		fault    func(*Printer)
		recover  func(*Printer)
		reason   string
		statusN2 byte
	}{
		{"paper out", (*Printer).PaperOut, (*Printer).LoadPaper, "paper out", 0x32},
		{"cover open", (*Printer).OpenCover, (*Printer).CloseCover, "cover open", 0x16},
		{"broken", (*Printer).Break, (*Printer).Fix, "printer offline (error)", 0x52},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, rec := newTestPrinter(t, Config{})
			tt.fault(p)
			// Status is answered while not ready, even in the middle of refused data.
			data := append(append([]byte(nil), receipt...), dle, eot, 2)
			if got := feed(t, p, data); string(got) != string([]byte{tt.statusN2}) {
				t.Errorf("answers while not ready = % X, want %02X", got, tt.statusN2)
			}
			if n := len(p.Receipts()); n != 0 {
				t.Fatalf("printed %d receipts while not ready", n)
			}
			refused := rec.kinds(EventRefused)
			if len(refused) != 4 { // ESC @, text, LF, GS V
				t.Errorf("refused events = %q, want 4", refused)
			}
			for _, r := range refused {
				if !strings.HasSuffix(r, tt.reason) {
					t.Errorf("refused event %q does not give the reason %q", r, tt.reason)
				}
			}
			tt.recover(p)
			feed(t, p, receipt)
			r, ok := p.LastReceipt()
			if !ok || r.Text != "SALE 3.50\n" || r.Seq != 1 {
				t.Errorf("after recovery: receipt %+v, %v; want SALE 3.50 as receipt 1", r, ok)
			}
		})
	}
}

func TestNotReadyDiscardsUncutPage(t *testing.T) {
	p, rec := newTestPrinter(t, Config{})
	feed(t, p, NewBuilder(ASCII).Init().Line("first half").Bytes())
	p.PaperOut()
	p.LoadPaper()
	feed(t, p, NewBuilder(ASCII).Init().Line("reprint").Cut().Bytes())
	r, _ := p.LastReceipt()
	if r.Text != "reprint\n" {
		t.Errorf("receipt = %q, want only the reprint", r.Text)
	}
	if st := rec.kinds(EventState); len(st) != 2 || !strings.Contains(st[0], "discarded") {
		t.Errorf("state events = %q, want paper out (uncut page discarded), paper loaded", st)
	}
}

func TestChineseConfig(t *testing.T) {
	gb := NewBuilder(GB18030).Line("合计 60.90").Cut().Bytes() // no Init: no FS &
	tests := []struct {
		name    string
		chinese bool
		data    []byte
		want    string
	}{
		{"chinese printer", true, gb, "合计 60.90\n"},
		{"chinese printer after ESC @", true, append([]byte{esc, '@'}, gb...), "合计 60.90\n"},
		{"FS . turns it off", true, append([]byte{fs, '.'}, NewBuilder(ASCII).Line("OK").Cut().Bytes()...), "OK\n"},
		{"FS & on a plain printer", false, append([]byte{fs, '&'}, gb...), "合计 60.90\n"},
		{"plain printer reads code page 437", false, append([]byte{0x9C, '5', lf}, gs, 'V', 0), "£5\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestPrinter(t, Config{Chinese: tt.chinese})
			feed(t, p, tt.data)
			if r, _ := p.LastReceipt(); r.Text != tt.want {
				t.Errorf("receipt = %q, want %q", r.Text, tt.want)
			}
		})
	}
}

func TestWideCharactersCountTwoColumns(t *testing.T) {
	p, _ := newTestPrinter(t, Config{Chinese: true})
	// 22 CJK characters are 44 cells: the last one wraps.
	feed(t, p, NewBuilder(GB18030).Init().Line(strings.Repeat("中", 22)).
		Align(Right).Line("右").Size(2, 1).Line("AB").Cut().Bytes())
	r, _ := p.LastReceipt()
	want := strings.Repeat("中", 21) + "\n中\n" + strings.Repeat(" ", 40) + "右\n" + strings.Repeat(" ", 38) + "AB\n"
	if r.Text != want {
		t.Errorf("receipt:\n%s\nwant:\n%s", r.Text, want)
	}
}

func TestReceiptFiles(t *testing.T) {
	dir := t.TempDir()
	p, rec := newTestPrinter(t, Config{ReceiptDir: dir})
	feed(t, p, NewBuilder(ASCII).Init().Line("one").Cut().Line("two").Cut().Cut().Bytes())
	if n := len(p.Receipts()); n != 2 {
		t.Fatalf("got %d receipts, want 2 (a blank cut keeps nothing)", n)
	}
	for i, want := range []string{"one\n", "two\n"} {
		base := filepath.Join(dir, "receipts", []string{"0001", "0002"}[i])
		got, err := os.ReadFile(base + ".txt")
		if err != nil || string(got) != want {
			t.Errorf("%s.txt = %q, %v; want %q", base, got, err, want)
		}
		html, err := os.ReadFile(base + ".html")
		if err != nil || !strings.Contains(string(html), "<!DOCTYPE html>") || !strings.Contains(string(html), strings.TrimSpace(want)) {
			t.Errorf("%s.html = %q, %v", base, html, err)
		}
	}
	if got := rec.kinds(EventReceipt); len(got) != 2 || got[0] != "receipt 0001 cut (1 lines)" {
		t.Errorf("receipt events = %q", got)
	}
}

func TestServeEndsWithContextAndLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, rec := newTestPrinter(t, Config{})
		pos, dev := pipePair()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Serve(ctx, dev) }()
		if _, err := pos.Write([]byte{dle, eot, 1}); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(pos, b); err != nil || b[0] != 0x12 {
			t.Fatalf("status = % X, %v", b, err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve after cancel = %v, want nil", err)
		}
		if _, err := pos.Write([]byte{lf}); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("link still open after Serve returned: %v", err)
		}
		if got := rec.kinds(EventLink); len(got) != 2 {
			t.Errorf("link events = %q, want connected, ended", got)
		}
	})
}
