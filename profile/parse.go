package profile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/possim/possim/money"
	"gopkg.in/yaml.v3"
)

// Amount is money in minor units, written in YAML as "12.34" or "1,234.50".
type Amount int64

// UnmarshalYAML reads "12.34", "1,234.50" or "¥12.34".
func (a *Amount) UnmarshalYAML(n *yaml.Node) error {
	v, err := money.Parse(n.Value)
	if err != nil {
		return &Error{Line: n.Line, Msg: err.Error()}
	}
	*a = Amount(v)
	return nil
}

// MarshalYAML writes the amount back in major units.
func (a Amount) MarshalYAML() (any, error) { return money.FormatGrouped(int64(a)), nil }

// Rate is a fee rate in basis points (hundredths of a percent), written "0.60%".
type Rate int64

// UnmarshalYAML reads "0.60%".
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if !strings.HasSuffix(s, "%") {
		return &Error{Line: n.Line, Msg: fmt.Sprintf("fee %q must be a percentage such as 0.60%%", n.Value)}
	}
	v, err := money.Parse(strings.TrimSuffix(s, "%"))
	if err != nil || v < 0 || v > 10000 {
		return &Error{Line: n.Line, Msg: fmt.Sprintf("fee %q must be a percentage between 0%% and 100%% with at most two decimals", n.Value)}
	}
	*r = Rate(v)
	return nil
}

// MarshalYAML writes the rate back as a percentage.
func (r Rate) MarshalYAML() (any, error) { return money.Format(int64(r)) + "%", nil }

// Error is a profile problem with the file and line it was found at.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Parse decodes and checks a profile; name is used in error messages.
// Unknown keys are errors, so a typo does not silently fall back to a default.
func Parse(data []byte, name string) (*Profile, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, &Error{File: name, Line: yamlLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(root.Content) == 0 {
		return nil, &Error{File: name, Msg: "empty profile"}
	}
	if err := checkKeys(root.Content[0], reflect.TypeOf(Profile{})); err != nil {
		return nil, withFile(err, name)
	}
	var p Profile
	if err := root.Content[0].Decode(&p); err != nil {
		return nil, withFile(err, name)
	}
	p.Source = name
	recordLines(root.Content[0], &p)
	if err := p.expandRanges(); err != nil {
		return nil, withFile(err, name)
	}
	if err := p.validate(); err != nil {
		return nil, withFile(err, name)
	}
	return &p, nil
}

func withFile(err error, name string) error {
	var pe *Error
	if errors.As(err, &pe) {
		pe.File = name
		return pe
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		// yaml.v3 writes "line N: msg"; keep its line in our form.
		msg := te.Errors[0]
		line := 0
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if n, after, ok := strings.Cut(rest, ": "); ok {
				line, _ = strconv.Atoi(n)
				msg = after
			}
		}
		return &Error{File: name, Line: line, Msg: msg}
	}
	return &Error{File: name, Msg: err.Error()}
}

func yamlLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		n := 0
		for _, c := range s[i+5:] {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	return 0
}

// checkKeys rejects mapping keys that no yaml tag of t names, recursively.
func checkKeys(n *yaml.Node, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		var valid []string
		for i := 0; i < t.NumField(); i++ {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if tag != "" && tag != "-" {
				fields[tag] = t.Field(i).Type
				valid = append(valid, tag)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				return &Error{Line: k.Line, Msg: fmt.Sprintf("unknown key %q; valid keys here: %s", k.Value, strings.Join(valid, ", "))}
			}
			if err := checkKeys(n.Content[i+1], ft); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			if err := checkKeys(c, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordLines keeps each list item's line so later checks can point at it.
func recordLines(root *yaml.Node, p *Profile) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		items := root.Content[i+1].Content
		for j, it := range items {
			switch root.Content[i].Value {
			case "cards":
				p.Cards[j].Line = it.Line
			case "merchants":
				p.Merchants[j].Line = it.Line
			case "terminals":
				p.Terminals[j].Line = it.Line
			case "wallets":
				p.Wallets[j].Line = it.Line
			case "products":
				p.Products[j].Line = it.Line
			}
		}
	}
}

func (p *Profile) validate() error {
	bad := func(line int, format string, a ...any) error {
		return &Error{Line: line, Msg: fmt.Sprintf(format, a...)}
	}
	if p.Currency == "" {
		p.Currency = "CNY"
	}
	if p.CurrencyCode == "" {
		p.CurrencyCode = "156"
	}
	if p.CountryCode == "" {
		p.CountryCode = "156"
	}
	if p.Locale == "" {
		p.Locale = "en"
	}
	if p.Keys.TerminalMasterKey == "" && p.Keys.IssuerMasterKey == "" {
		// The public test keys of docs/architecture.md unless the profile says otherwise.
		p.Keys = Keys{TerminalMasterKey: "0123456789ABCDEFFEDCBA9876543210", IssuerMasterKey: "00112233445566778899AABBCCDDEEFF"}
	}
	if p.Locale != "en" && p.Locale != "zh" {
		return bad(0, "locale %q: valid locales are en, zh", p.Locale)
	}
	for _, k := range []struct{ name, v string }{{"terminal_master_key", p.Keys.TerminalMasterKey}, {"issuer_master_key", p.Keys.IssuerMasterKey}} {
		if b, err := hex.DecodeString(k.v); err != nil || len(b) != 16 {
			return bad(0, "keys.%s must be 32 hex digits (a double-length 3DES key)", k.name)
		}
	}
	merchants := map[string]bool{}
	for _, m := range p.Merchants {
		if len(m.ID) != 15 || !allDigits(m.ID) {
			return bad(m.Line, "merchant id %q must be 15 digits (field 42)", m.ID)
		}
		if merchants[m.ID] {
			return bad(m.Line, "merchant %s listed twice", m.ID)
		}
		merchants[m.ID] = true
		switch m.Settlement {
		case "realtime", "t1":
		default:
			return bad(m.Line, "merchant %s: settlement %q; valid: realtime, t1", m.ID, m.Settlement)
		}
		switch m.Realtime {
		case "", "none", "pending", "approved", "rejected":
		default:
			return bad(m.Line, "merchant %s: realtime %q; valid: none, pending, approved, rejected", m.ID, m.Realtime)
		}
		if m.UnreferencedRefundLimit < 0 {
			return bad(m.Line, "merchant %s: unreferenced_refund_limit %s is negative; 0 refuses unreferenced refunds",
				m.ID, money.Format(int64(m.UnreferencedRefundLimit)))
		}
	}
	terminals := map[string]bool{}
	for _, t := range p.Terminals {
		if len(t.ID) != 8 {
			return bad(t.Line, "terminal id %q must be 8 characters (field 41)", t.ID)
		}
		if terminals[t.ID] {
			return bad(t.Line, "terminal %s listed twice", t.ID)
		}
		terminals[t.ID] = true
		if !merchants[t.Merchant] {
			return bad(t.Line, "terminal %s: unknown merchant %q", t.ID, t.Merchant)
		}
	}
	aliases := map[string]bool{}
	for i := range p.Cards {
		c := &p.Cards[i]
		if c.Alias == "" || aliases[c.Alias] {
			return bad(c.Line, "card alias %q is empty or listed twice", c.Alias)
		}
		aliases[c.Alias] = true
		if len(c.PAN) < 12 || len(c.PAN) > 19 || !allDigits(c.PAN) {
			return bad(c.Line, "card %s: pan must be 12 to 19 digits", c.Alias)
		}
		if len(c.Expiry) != 7 || c.Expiry[4] != '-' || !allDigits(c.Expiry[:4]+c.Expiry[5:]) {
			return bad(c.Line, "card %s: expiry %q must be YYYY-MM", c.Alias, c.Expiry)
		}
		if c.PIN != "" && (len(c.PIN) < 4 || len(c.PIN) > 12 || !allDigits(c.PIN)) {
			return bad(c.Line, "card %s: pin must be 4 to 12 digits, or empty for signature", c.Alias)
		}
		if c.PANSeq == "" {
			c.PANSeq = "01"
		}
		switch c.Account {
		case "credit", "debit":
		default:
			return bad(c.Line, "card %s: account %q; valid: credit, debit", c.Alias, c.Account)
		}
		switch c.Status {
		case "active", "lost", "stolen", "restricted":
		default:
			return bad(c.Line, "card %s: status %q; valid: active, lost, stolen, restricted", c.Alias, c.Status)
		}
		for _, f := range c.Interfaces {
			if f != "chip" && f != "tap" && f != "swipe" {
				return bad(c.Line, "card %s: interface %q; valid: chip, tap, swipe", c.Alias, f)
			}
		}
		if len(c.Interfaces) == 0 {
			return bad(c.Line, "card %s: no interfaces; give at least one of chip, tap, swipe", c.Alias)
		}
	}
	for _, pr := range p.Products {
		if pr.Barcode == "" || pr.Price <= 0 {
			return bad(pr.Line, "product %q needs a barcode and a positive price", pr.Name)
		}
	}
	return nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// expandRanges turns terminal and card entries with a count into one entry
// each, so every other part sees a flat list.
func (p *Profile) expandRanges() error {
	var terms []Terminal
	for _, t := range p.Terminals {
		if t.Count <= 1 {
			terms = append(terms, t)
			continue
		}
		prefix, start, width := splitDigits(t.ID)
		if width == 0 || t.Count > 100000 {
			return &Error{Line: t.Line, Msg: fmt.Sprintf("terminal %s: a range needs trailing digits in the id and a count up to 100000", t.ID)}
		}
		for i := 0; i < t.Count; i++ {
			n := t
			n.ID = fmt.Sprintf("%s%0*d", prefix, width, start+i)
			n.Count = 0
			if len(n.ID) != len(t.ID) {
				return &Error{Line: t.Line, Msg: fmt.Sprintf("terminal %s: count %d overflows the id's digits", t.ID, t.Count)}
			}
			terms = append(terms, n)
		}
	}
	p.Terminals = terms
	var cards []Card
	for _, c := range p.Cards {
		if c.Count <= 1 {
			cards = append(cards, c)
			continue
		}
		if len(c.PAN) < 12 || !allDigits(c.PAN) || c.Count > 100000 {
			return &Error{Line: c.Line, Msg: fmt.Sprintf("card %s: a range needs a numeric pan and a count up to 100000", c.Alias)}
		}
		body := c.PAN[:len(c.PAN)-1]
		start, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return &Error{Line: c.Line, Msg: fmt.Sprintf("card %s: pan too long for a range", c.Alias)}
		}
		for i := 0; i < c.Count; i++ {
			n := c
			b := fmt.Sprintf("%0*d", len(body), start+int64(i))
			n.PAN = b + luhnDigit(b)
			n.Alias = fmt.Sprintf("%s-%04d", c.Alias, i+1)
			n.Count = 0
			n.Range = c.Alias
			n.Interfaces = append([]string(nil), c.Interfaces...)
			cards = append(cards, n)
		}
	}
	p.Cards = cards
	return nil
}

func splitDigits(id string) (prefix string, start, width int) {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	if i == len(id) {
		return id, 0, 0
	}
	n, _ := strconv.Atoi(id[i:])
	return id[:i], n, len(id) - i
}

// luhnDigit is the check digit that makes body+digit pass the Luhn test.
func luhnDigit(body string) string {
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return strconv.Itoa((10 - sum%10) % 10)
}
