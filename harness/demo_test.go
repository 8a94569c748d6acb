package harness

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/ledger"
)

// TestDemoFigures runs the demo and reads its page as a merchant would:
// the QR payment code masked the same way on the receipt and in the
// statement, the statement's columns in line, its totals adding up, and
// the reversal negative wherever a posting is shown.
func TestDemoFigures(t *testing.T) {
	var out bytes.Buffer
	if err := RunDemo(context.Background(), DemoConfig{Dir: t.TempDir(), Out: &out, Seed: 1}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	page := out.String()

	// One masking of the payment code 281234567890123456.
	codes := regexp.MustCompile(`28[0-9*]{12,}56`).FindAllString(page, -1)
	if len(codes) < 3 {
		t.Errorf("the payment code appears %d times; want it on both receipts and in the statement", len(codes))
	}
	for _, c := range codes {
		if c != "2812**********3456" {
			t.Errorf("payment code shown as %s; want 2812**********3456 everywhere", c)
		}
	}

	// The statement's rows: the rc column stays where its header is.
	sec := page[strings.Index(page, "== 10."):]
	lines := strings.Split(sec, "\n")
	var header string
	var rows []string
	for _, ln := range lines {
		switch {
		case strings.Contains(ln, " kind ") && strings.Contains(ln, " rc "):
			header = ln
		case header != "" && regexp.MustCompile(`^   \d\d:\d\d:\d\d`).MatchString(ln):
			rows = append(rows, ln)
		}
	}
	if header == "" || len(rows) < 5 {
		t.Fatalf("no statement table found:\n%s", sec)
	}
	rc := strings.Index(header, " rc ") + 1
	for _, r := range rows {
		if len(r) < rc+2 || !regexp.MustCompile(`^\d\d$`).MatchString(r[rc:rc+2]) {
			t.Errorf("statement row out of line with its header:\n%s\n%s", header, r)
		}
	}

	// The totals add up on the page, and the net column adds up to the net.
	total := func(name string) (int64, bool) {
		m := regexp.MustCompile(`(?m)^   ` + name + ` +(-?[0-9.,]+)`).FindStringSubmatch(sec)
		if m == nil {
			return 0, false
		}
		v, err := money.Parse(m[1])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v, true
	}
	net, ok := total("net")
	if !ok {
		t.Fatalf("no net total:\n%s", sec)
	}
	var sum int64
	for _, name := range []string{"gross", "reversals", "refunds", "fees"} {
		v, _ := total(name)
		sum += v
	}
	if _, ok := total("reversals"); !ok || sum != net {
		t.Errorf("gross + reversals + refunds + fees = %s; the net says %s:\n%s", money.Format(sum), money.Format(net), sec)
	}
	var col int64
	for _, r := range rows {
		f := strings.Fields(r)
		v, err := money.Parse(f[len(f)-1])
		if err != nil {
			t.Fatalf("net cell of %q: %v", r, err)
		}
		col += v
	}
	if col != net {
		t.Errorf("the net column adds up to %s; the net says %s", money.Format(col), money.Format(net))
	}

	// The reversal is negative in the postings and in the statement.
	if !regexp.MustCompile(`(?m)^   reverse_d0 .* -25\.00 +-0\.15 +-24\.85$`).MatchString(page) {
		t.Errorf("the reverse_d0 posting is not shown negative:\n%s", page[strings.Index(page, "== 9."):])
	}
	if !regexp.MustCompile(`(?m)^   \S+ +reversal .* -25\.00 `).MatchString(sec) {
		t.Errorf("the reversal line is not shown negative:\n%s", sec)
	}
}

// TestPostingLineSign: the HTML report's ledger lines sign postings as
// the demo does (a reverse_d0 was shown positive there).
func TestPostingLineSign(t *testing.T) {
	for _, c := range []struct {
		p    ledger.Posting
		want string
	}{
		{ledger.Posting{MerchantID: "M", Type: ledger.PostReverseD0, EntryKey: ledger.Key{TID: "T", STAN: "000007"}, Gross: 2500, Fee: 15, Net: 2485},
			"M reverse_d0   T/000007 gross     -25.00 fee    -0.15 net     -24.85"},
		{ledger.Posting{MerchantID: "M", Type: ledger.PostCancelT1, EntryKey: ledger.Key{TID: "T", STAN: "000008"}, Gross: 2500, Fee: 15, Net: 2485},
			"M cancel_t1    T/000008 gross     -25.00 fee    -0.15 net     -24.85"},
		{ledger.Posting{MerchantID: "M", Type: ledger.PostD0Credit, EntryKey: ledger.Key{TID: "T", STAN: "000006"}, Gross: 2500, Fee: 15, Net: 2485},
			"M d0_credit    T/000006 gross      25.00 fee     0.15 net      24.85"},
	} {
		if got := PostingLine(c.p); got != c.want {
			t.Errorf("PostingLine = %q; want %q", got, c.want)
		}
	}
}

// TestLadderNamesFields: a ladder line says what the message is and its
// fields by name, "39 response code = 00 (approved)", not "39=00".
func TestLadderNamesFields(t *testing.T) {
	e := Event{Kind: "iso_in", MTI: "0210", Fields: map[string]string{"3": "000000", "11": "000042", "39": "51", "2": "476173******0010"}}
	if got, want := LadderLine(e), "TERMINAL <-- 0210 financial response"; !strings.HasPrefix(got, want) {
		t.Errorf("LadderLine = %q, want it to start %q", got, want)
	}
	want := []string{"3 processing code = 000000 (purchase)", "11 systems trace audit number (STAN) = 000042", "39 response code = 51 (insufficient funds)"}
	if d := cmp.Diff(want, LadderFields(e)); d != "" {
		t.Errorf("LadderFields (-want +got):\n%s", d)
	}
}
