// Package profile holds the lab's world: merchants, terminals, test cards,
// QR wallets, products and test keys. Every part (host, devices, terminal,
// harness) takes what it needs from a *Profile in its config, so one YAML
// file describes a whole lab; Default returns the embedded profile of
// profile/default.yaml that every command uses when given no file.
package profile

import (
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

//go:embed default.yaml
var defaultYAML []byte

// Profile is one lab's configuration. Amounts are int64 minor units.
type Profile struct {
	// Source is the file the profile was read from (Parse's name), for
	// errors found after parsing, such as a terminal's unknown dialect.
	Source       string     `yaml:"-"`
	Name         string     `yaml:"name"`
	Currency     string     `yaml:"currency"`
	CurrencyCode string     `yaml:"currency_code"`
	CountryCode  string     `yaml:"country_code"`
	Locale       string     `yaml:"locale"`
	Keys         Keys       `yaml:"keys"`
	Merchants    []Merchant `yaml:"merchants"`
	Terminals    []Terminal `yaml:"terminals"`
	Host         Host       `yaml:"host"`
	Cards        []Card     `yaml:"cards"`
	Wallets      []Wallet   `yaml:"wallets"`
	Products     []Product  `yaml:"products"`
}

// Keys are the public test keys of docs/architecture.md, as hex.
type Keys struct {
	TerminalMasterKey string `yaml:"terminal_master_key"`
	IssuerMasterKey   string `yaml:"issuer_master_key"`
}

// TMK returns the terminal master key as bytes.
func (k Keys) TMK() []byte { b, _ := hex.DecodeString(k.TerminalMasterKey); return b }

// IMK returns the issuer's application cryptogram master key as bytes.
func (k Keys) IMK() []byte { b, _ := hex.DecodeString(k.IssuerMasterKey); return b }

// Merchant is an acquirer's merchant and its settlement terms.
type Merchant struct {
	ID             string `yaml:"id"`
	Name           string `yaml:"name"`
	City           string `yaml:"city"`
	Settlement     string `yaml:"settlement"` // realtime | t1
	Realtime       string `yaml:"realtime"`   // none | pending | approved | rejected
	RealtimePerTxn Amount `yaml:"realtime_per_txn"`
	RealtimeDaily  Amount `yaml:"realtime_daily"`
	CardFee        Rate   `yaml:"card_fee"`
	QRFee          Rate   `yaml:"qr_fee"`
	// UnreferencedRefundLimit is the largest refund the host approves
	// without an original sale named in field 90; 0 (the default) refuses
	// every unreferenced refund. A refund by reference is bounded by its sale.
	UnreferencedRefundLimit Amount `yaml:"unreferenced_refund_limit"`
	Line                    int    `yaml:"-"`
}

// Terminal is a terminal bound to a merchant.
type Terminal struct {
	ID       string `yaml:"id"`
	Merchant string `yaml:"merchant"`
	Software string `yaml:"software"`
	// Count > 1 makes a range: the ID's trailing digits count up
	// (LOAD0001 with count 3 is LOAD0001, LOAD0002, LOAD0003).
	Count int `yaml:"count,omitempty"`
	// Dialect is the wire the terminal speaks (a built-in dialect name);
	// a host refuses its requests (58) on a listener of another dialect.
	// Empty: any.
	Dialect string `yaml:"dialect,omitempty"`
	Line    int    `yaml:"-"`
}

// Host holds host-wide parameters.
type Host struct {
	// MinTerminalSoftware: sign-on from older terminal software is refused.
	MinTerminalSoftware string `yaml:"min_terminal_software"`
}

// Card is a virtual card and its issuer account.
type Card struct {
	Alias       string   `yaml:"alias"`
	PAN         string   `yaml:"pan"`
	Expiry      string   `yaml:"expiry"` // YYYY-MM
	PIN         string   `yaml:"pin"`    // empty: no PIN, signature
	Name        string   `yaml:"name"`
	PANSeq      string   `yaml:"pan_seq"`
	Account     string   `yaml:"account"` // credit | debit
	Limit       Amount   `yaml:"limit"`   // credit limit or balance
	PerTxnLimit Amount   `yaml:"per_txn_limit"`
	DailyCount  int      `yaml:"daily_count"`
	Status      string   `yaml:"status"` // active | lost | stolen | restricted
	Interfaces  []string `yaml:"interfaces"`
	// Count > 1 makes a range of cards for load tests: alias-0001, ... with
	// PANs counting up from pan and their Luhn digit recomputed.
	Count int `yaml:"count,omitempty"`
	Line  int `yaml:"-"`
	// Range is the alias of the range entry this card was expanded from.
	Range string `yaml:"-"`
}

// ExpiryYYMM is the expiry as the card and field 14 carry it.
func (c Card) ExpiryYYMM() string {
	if len(c.Expiry) != 7 {
		return ""
	}
	return c.Expiry[2:4] + c.Expiry[5:7]
}

// Has says whether the card supports an interface (chip, tap, swipe).
func (c Card) Has(iface string) bool {
	for _, i := range c.Interfaces {
		if i == iface {
			return true
		}
	}
	return false
}

// ServiceCode is the magstripe service code: 2xx for chip cards (so a
// swiped chip card is asked to insert), 1xx for magstripe-only cards.
func (c Card) ServiceCode() string {
	if c.Has("chip") {
		return "201"
	}
	return "101"
}

// Wallet is a QR payment wallet, found by the customer's payment code.
type Wallet struct {
	Code    string `yaml:"code"`
	Name    string `yaml:"name"`
	Balance Amount `yaml:"balance"`
	Line    int    `yaml:"-"`
}

// Product is an item the scanner can read.
type Product struct {
	Barcode string `yaml:"barcode"`
	Name    string `yaml:"name"`
	NameZH  string `yaml:"name_zh"`
	Price   Amount `yaml:"price"`
	Line    int    `yaml:"-"`
}

// Default returns a fresh copy of the embedded default profile.
func Default() *Profile {
	p, err := Parse(defaultYAML, "default.yaml")
	if err != nil {
		panic("embedded default profile: " + err.Error()) // a build defect, caught by tests
	}
	return p
}

// Load reads and checks a profile file.
func Load(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading profile: %w", err)
	}
	return Parse(b, path)
}

// Card finds a card by alias; the error lists the valid aliases.
func (p *Profile) Card(alias string) (Card, error) {
	for _, c := range p.Cards {
		if c.Alias == alias {
			return c, nil
		}
	}
	return Card{}, fmt.Errorf("unknown card %q; valid cards: %s", alias, strings.Join(p.CardAliases(), ", "))
}

// CardAliases lists the aliases in profile order, a range folded into
// one item (load-0001..load-1024).
func (p *Profile) CardAliases() []string {
	var out []string
	for i := 0; i < len(p.Cards); i++ {
		c := p.Cards[i]
		j := i
		for c.Range != "" && j+1 < len(p.Cards) && p.Cards[j+1].Range == c.Range {
			j++
		}
		if j > i {
			out = append(out, c.Alias+".."+p.Cards[j].Alias)
			i = j
			continue
		}
		out = append(out, c.Alias)
	}
	return out
}

// CardByPAN finds a card by its PAN.
func (p *Profile) CardByPAN(pan string) (Card, bool) {
	for _, c := range p.Cards {
		if c.PAN == pan {
			return c, true
		}
	}
	return Card{}, false
}

// Merchant finds a merchant by ID.
func (p *Profile) Merchant(id string) (Merchant, bool) {
	for _, m := range p.Merchants {
		if m.ID == id {
			return m, true
		}
	}
	return Merchant{}, false
}

// Terminal finds a terminal by ID.
func (p *Profile) Terminal(id string) (Terminal, bool) {
	for _, t := range p.Terminals {
		if t.ID == id {
			return t, true
		}
	}
	return Terminal{}, false
}

// Product finds a product by barcode or by name; the error lists what is valid.
func (p *Profile) Product(codeOrName string) (Product, error) {
	for _, pr := range p.Products {
		if pr.Barcode == codeOrName || strings.EqualFold(pr.Name, codeOrName) {
			return pr, nil
		}
	}
	var names []string
	for _, pr := range p.Products {
		names = append(names, fmt.Sprintf("%s (%s)", pr.Name, pr.Barcode))
	}
	sort.Strings(names)
	return Product{}, fmt.Errorf("unknown product %q; valid products: %s", codeOrName, strings.Join(names, ", "))
}

// Wallet finds a wallet by payment code.
func (p *Profile) Wallet(code string) (Wallet, bool) {
	for _, w := range p.Wallets {
		if w.Code == code {
			return w, true
		}
	}
	return Wallet{}, false
}

// Clone returns a deep copy, so a lab can change its profile at run time
// (a card reported lost, a merchant approved) without touching another's.
func (p *Profile) Clone() *Profile {
	c := *p
	c.Merchants = slices.Clone(p.Merchants)
	c.Terminals = slices.Clone(p.Terminals)
	c.Wallets = slices.Clone(p.Wallets)
	c.Products = slices.Clone(p.Products)
	c.Cards = slices.Clone(p.Cards)
	for i := range c.Cards {
		c.Cards[i].Interfaces = slices.Clone(p.Cards[i].Interfaces)
	}
	return &c
}
