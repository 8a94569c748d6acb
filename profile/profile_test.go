package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	p := Default()
	c, err := p.Card("visa-credit")
	if err != nil {
		t.Fatal(err)
	}
	if c.PAN != "4761739001010010" || c.ExpiryYYMM() != "3012" || c.Limit != 5000000 || c.ServiceCode() != "201" {
		t.Errorf("visa-credit = %+v", c)
	}
	m, ok := p.Merchant("123456789012345")
	if !ok || m.Name != "Demo Mart" || m.CardFee != 60 || m.QRFee != 38 || m.RealtimePerTxn != 5000000 || m.RealtimeDaily != 20000000 {
		t.Errorf("merchant = %+v", m)
	}
	if len(p.Cards) != 8+1024 || len(p.Products) != 4 || p.Cards[0].Line == 0 {
		t.Errorf("default profile: %d cards, %d products, first card line %d", len(p.Cards), len(p.Products), p.Cards[0].Line)
	}
	if m.UnreferencedRefundLimit != 0 {
		t.Errorf("Demo Mart's unreferenced refund limit = %d; want 0 (refused) unless set", m.UnreferencedRefundLimit)
	}
	if so, _ := p.Card("swipe-only"); so.PIN != "" || so.ServiceCode() != "101" {
		t.Errorf("swipe-only = %+v", so)
	}
	if _, err := p.Card("nope"); err == nil || !strings.Contains(err.Error(), "visa-credit") {
		t.Errorf("unknown alias error = %v; want it to list valid aliases", err)
	}
}

func TestCloneIsDeep(t *testing.T) {
	p := Default()
	c := p.Clone()
	c.Cards[0].Status = "lost"
	if p.Cards[0].Status != "active" {
		t.Fatal("Clone shares cards with its source")
	}
	if c.Merchants[0].CardFee != 60 || c.Cards[0].Limit != 5000000 {
		t.Errorf("clone lost values: %+v %+v", c.Merchants[0], c.Cards[0])
	}
}

func TestBadProfilesNameTheLine(t *testing.T) {
	good := string(defaultYAML)
	for _, c := range []struct {
		name, from, to, want string
	}{
		{"bad amount", `limit: "2,000.00"`, `limit: "2,000.0x"`, "amount must look like"},
		{"unknown key", "    account: credit\n", "    acount: credit\n", `unknown key "acount"`},
		{"bad status", "status: lost", "status: missing", `status "missing"`},
		{"bad fee", `card_fee: "0.60%"`, `card_fee: "0.60"`, "must be a percentage"},
		{"syntax", "cards:\n", "cards: [\n", ""},
		{"negative refund limit", "    qr_fee: \"0.38%\"\n", "    qr_fee: \"0.38%\"\n    unreferenced_refund_limit: \"-1.00\"\n", "unreferenced_refund_limit -1.00 is negative"},
		{"terminal merchant", `merchant: "123456789012345"`, `merchant: "999"`, "unknown merchant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := strings.Replace(good, c.from, c.to, 1)
			if y == good {
				t.Fatalf("replacement %q not found", c.from)
			}
			path := filepath.Join(t.TempDir(), "lab.yaml")
			if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Load = %v; want *profile.Error", err)
			}
			if pe.Line == 0 || !strings.Contains(err.Error(), path+":") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want file:line and %q", err, c.want)
			}
		})
	}
}

func TestTerminalDialect(t *testing.T) {
	y := strings.Replace(string(defaultYAML), "    software: \"2.1.0\"\n", "    software: \"2.1.0\"\n    dialect: cup\n", 1)
	p, err := Parse([]byte(y), "lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tm, _ := p.Terminal("TERM0001"); tm.Dialect != "cup" {
		t.Errorf("TERM0001 dialect = %q; want cup", tm.Dialect)
	}
	if tm, _ := p.Terminal("LOAD0001"); tm.Dialect != "" {
		t.Errorf("LOAD0001 dialect = %q; want none", tm.Dialect)
	}
}

func TestRanges(t *testing.T) {
	p := Default()
	if _, ok := p.Terminal("LOAD1024"); !ok {
		t.Error("LOAD1024 missing from the load terminal range")
	}
	if _, ok := p.Terminal("LOAD1025"); ok {
		t.Error("LOAD1025 present; the range has 1024")
	}
	c, err := p.Card("load-0002")
	if err != nil {
		t.Fatal(err)
	}
	if c.PAN[:15] != "476173900200001" || !luhnOK(c.PAN) {
		t.Errorf("load-0002 PAN %s", c.PAN)
	}
	for _, c := range p.Cards {
		if !luhnOK(c.PAN) {
			t.Errorf("%s: PAN fails Luhn", c.Alias)
		}
	}
}

func luhnOK(pan string) bool { return luhnDigit(pan[:len(pan)-1]) == pan[len(pan)-1:] }

func TestCardAliasesFoldRanges(t *testing.T) {
	got := strings.Join(Default().CardAliases(), ", ")
	if !strings.HasSuffix(got, "swipe-only, load-0001..load-1024") {
		t.Errorf("CardAliases = %s", got)
	}
}

func TestMinimalProfileNamesTheBadLine(t *testing.T) {
	_, err := Parse([]byte("name: broken\ncards:\n  - alias: x\n    pan: \"123\"\n"), "lab.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "lab.yaml:3:") || !strings.Contains(err.Error(), "pan") {
		t.Errorf("err = %v; want lab.yaml:3 and the pan named", err)
	}
}
