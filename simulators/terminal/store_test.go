package terminal

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestChineseReceiptInGB18030(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var printed [][]byte
		l := newLab(t, func(c *Config) {
			c.Profile.Locale = "zh"
			inner := c.Printer
			c.Printer = printerSpy{Printer: inner, got: &printed}
		})
		l.ready()
		l.reader.Insert("visa-credit")
		l.pad.Type("1234")
		x, err := l.term.Sale(bg, SaleRequest{Items: []Item{{Code: "6901234567892"}}})
		if err != nil {
			t.Fatal(err)
		}
		rs := l.receipts()
		for _, want := range []string{"商户存根", "消费", "绿茶 x1", "实时到账", "476173******0010", x.STAN} {
			if !strings.Contains(rs[0], want) {
				t.Errorf("receipt lacks %q:\n%s", want, rs[0])
			}
		}
		gb, _ := simplifiedchinese.GB18030.NewEncoder().String("消费")
		if len(printed) == 0 || !bytes.Contains(printed[0], []byte(gb)) || bytes.Contains(printed[0], []byte("消费")) {
			t.Errorf("receipt not sent in GB18030")
		}
	})
}

type printerSpy struct {
	Printer
	got *[][]byte
}

func (p printerSpy) Print(ctx context.Context, b []byte) error {
	*p.got = append(*p.got, b)
	return p.Printer.Print(ctx, b)
}

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "term.json")
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, func(c *Config) { c.Store = FileStore(path) })
		l.ready()
		l.printer.PaperOut()
		x := l.sale(1000)
		l.term.Close()

		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.p.Cards {
			if bytes.Contains(raw, []byte(c.PAN)) {
				t.Fatalf("state file holds the PAN of %s in clear", c.Alias)
			}
		}

		// Power cycle: new devices, same state file.
		l2 := newLab(t, func(c *Config) { c.Store = FileStore(path) })
		if _, err := l2.term.PowerOn(bg); err != nil {
			t.Fatal(err)
		}
		if !l2.term.SignedOn() || l2.pad.KeyLoaded() == "" {
			t.Fatalf("sign-on not restored: signed %v, key %q", l2.term.SignedOn(), l2.pad.KeyLoaded())
		}
		if got := l2.receipts(); len(got) != 2 {
			t.Errorf("queued receipts not printed at power-on: %d", len(got))
		}
		l2.host.journal = l.host.journal
		v, err := l2.term.Void(bg, x.STAN)
		if err != nil {
			t.Fatalf("void after restart: %v", err)
		}
		if get(l2.host.last("0200"), 2) != "4761739001010010" || v.STAN <= x.STAN {
			t.Errorf("void PAN %s STAN %s after %s", get(l2.host.last("0200"), 2), v.STAN, x.STAN)
		}
	})
}
