package trace

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/money"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// lateAnswer is how late a recorded answer must be to be played as a
// fault step: quicker ones are the host's ordinary pace.
const lateAnswer = time.Second

// WriteFeature writes a Gherkin scenario that makes the lab go through
// what t recorded, with possim's own steps: the sign-on, each sale, void,
// refund and settlement as the cashier and customer do it, each host
// behaviour of the recording (a decline code, silence, a late answer, an
// amount it did not ask for) as the fault step before it, and Then steps
// for what the recording shows. Echo tests (0800 301) are left out: the
// lab's terminal sends its own. name is the trace's file name, for the
// title.
func WriteFeature(w io.Writer, t *Trace, name string, prof *profile.Profile) error {
	if prof == nil {
		prof = profile.Default()
	}
	reqs, answers := requests(t)
	if len(reqs) == 0 {
		return ErrNothingToReplay
	}
	fw := &featureWriter{prof: prof, cards: map[string]string{}}
	fw.line("@replay")
	fw.line("Feature: Replay of %s", name)
	fw.line("  Made by possim replay %s --feature: the trace's exchanges as lab steps.", name)
	fw.line("")
	fw.line("  Scenario: The recorded session")
	fw.line("    Given a lab with the default profile")
	signedOn, cardIn := false, false
	for i, q := range reqs {
		a := answers[q]
		proc := q.Field(3)
		switch {
		case q.MTI == iso.MTINetworkRequest && (q.Field(70) == iso.NetSignOn || q.Field(70) == iso.NetKeyChange):
			if !signedOn {
				fw.line("    And the terminal is powered on")
				signedOn = true
			}
			fw.line("    When the terminal signs on")
			fw.line("    Then the terminal is signed on")
		case q.MTI == iso.MTINetworkRequest:
			continue // echo tests and sign-offs: the lab's terminal sends its own
		case q.MTI == iso.MTIFinancialRequest && strings.HasPrefix(proc, "02"):
			fw.fault("void", q, a)
			fw.line("    When the cashier voids the last sale")
			fw.outcome(q, a, "approved")
		case q.MTI == iso.MTIFinancialRequest && strings.HasPrefix(proc, "20"):
			fw.fault("refund", q, a)
			fw.line("    When the cashier refunds %s of the last sale", amountOf(q))
			fw.outcome(q, a, "approved")
		case q.MTI == iso.MTIFinancialRequest:
			if !signedOn {
				fw.line("    And the terminal is powered on and signed on")
				signedOn = true
			}
			if cardIn {
				fw.line("    When the customer takes the card out")
			}
			fw.fault("sale", q, a)
			if a == nil {
				// The reversal the silence brings: refused or unanswered
				// as recorded.
				if rev := reversalAfter(reqs, i); rev != nil {
					fw.fault("reversal", rev, answers[rev])
				}
			}
			fw.pay(q)
			cardIn = true
			if a == nil {
				fw.line("    Then the transaction is reversed")
				if next := reversalAfter(reqs, i); next != nil {
					fw.line("    And the host received a 0400 reversal for the last sale")
					fw.line("    And field 39 of the last \"0400\" request was %q", next.Field(39))
					if ra := answers[next]; ra != nil {
						fw.line("    And the host answered the last \"0400\" with %q", ra.Field(39))
					}
				}
				continue
			}
			fw.outcome(q, a, "approved")
		case strings.HasPrefix(q.MTI, "04"):
			// Sent by the terminal after the silence above; how the host
			// took it is played as a fault step before the sale.
			continue
		case q.MTI == iso.MTIReconcile:
			fw.fault("request", q, a)
			fw.line("    When the cashier settles the batch")
			if a != nil && a.Field(39) == iso.RCApproved {
				fw.line("    Then the batch is balanced")
			} else if a != nil {
				fw.line("    Then the batch is out of balance")
			}
			fw.line("    And the batch totals are %s sale%s for %s and %s refund%s for %s",
				countOf(q, 74), plural(countOf(q, 74)), minorToMajor(q.Field(86)),
				countOf(q, 76), plural(countOf(q, 76)), minorToMajor(q.Field(88)))
		default:
			fw.line("    # exchange %d: %s is not played by a step of the lab", q.Exchange, q.MTI)
		}
	}
	for _, c := range fw.comments {
		fw.line("# %s", c)
	}
	_, err := io.WriteString(w, fw.b.String())
	return err
}

type featureWriter struct {
	b        strings.Builder
	prof     *profile.Profile
	cards    map[string]string // masked PAN -> alias
	comments []string
}

func (fw *featureWriter) line(format string, a ...any) {
	fmt.Fprintf(&fw.b, format+"\n", a...)
}

// fault writes the fault step that makes the host answer q as recorded.
func (fw *featureWriter) fault(what string, q, a *Message) {
	switch {
	case a == nil && what == "sale":
		fw.line("    Given the host does not answer the next sale")
	case a == nil:
		fw.line("    Given the host does not answer the next %s", what)
	case a.Field(39) != iso.RCApproved:
		fw.line("    Given the host answers the next %s with %q", what, a.Field(39))
	case a.Field(4) != "" && q.Field(4) != "" && a.Field(4) != q.Field(4) && what == "sale":
		fw.line("    Given the host approves the next sale for %s instead", amountOf(a))
	}
	if a != nil {
		if d := offset(a) - offset(q); d >= lateAnswer {
			fw.line("    Given the host answers the next %s after %s", what, d.Round(100*time.Millisecond))
		}
	}
}

// pay writes the customer's payment: amount, card, entry and PIN.
func (fw *featureWriter) pay(q *Message) {
	c := fw.cardOf(q.Field(2))
	kind := "credit card"
	if c.Account == "debit" {
		kind = "debit card"
	}
	entry := "chip"
	switch e := q.Field(22); {
	case strings.HasPrefix(e, "07"):
		entry = "tap"
	case strings.HasPrefix(e, "02"), strings.HasPrefix(e, "90"), strings.HasPrefix(e, "80"):
		entry = "swipe"
	}
	pin := ""
	if q.Field(52) != "" && c.PIN != "" {
		pin = fmt.Sprintf(" with PIN %q", c.PIN)
	}
	fw.line("    When the customer pays %s by %s %q by %s%s", amountOf(q), kind, c.Alias, entry, pin)
}

// outcome writes what the recording shows of the answer.
func (fw *featureWriter) outcome(q, a *Message, approved string) {
	switch rc := a.Field(39); rc {
	case iso.RCApproved:
		fw.line("    Then the transaction is %s", approved)
	default:
		fw.line("    Then the transaction is declined with response code %q", rc)
	}
	fw.line("    And the host answered the last %q with %q", q.MTI, a.Field(39))
}

// cardOf maps a PAN (full or masked) to a profile card: the same card, or
// the nearest of the same brand with a comment saying so.
func (fw *featureWriter) cardOf(pan string) profile.Card {
	masked := pan
	if !strings.Contains(pan, "*") {
		masked = card.MaskPAN(pan)
	}
	var best profile.Card
	bestLen := -1
	for _, alias := range fw.prof.CardAliases() {
		c, err := fw.prof.Card(alias)
		if err != nil {
			continue
		}
		if card.MaskPAN(c.PAN) == masked {
			return c
		}
		n := 0
		for n < len(c.PAN) && n < 6 && n < len(masked) && c.PAN[n] == masked[n] {
			n++
		}
		if n > bestLen {
			best, bestLen = c, n
		}
	}
	if _, seen := fw.cards[masked]; !seen {
		fw.cards[masked] = best.Alias
		fw.comments = append(fw.comments, fmt.Sprintf("card %s is not in the profile: played with %s, the nearest test card of the same brand (BIN prefix)", masked, best.Alias))
	}
	return best
}

// reversalAfter is the reversal the terminal sent for the unanswered
// request i, if the trace has it.
func reversalAfter(reqs []*Message, i int) *Message {
	for _, m := range reqs[i+1:] {
		if strings.HasPrefix(m.MTI, "04") && strings.Contains(m.Field(90), reqs[i].Field(11)) {
			return m
		}
	}
	return nil
}

func amountOf(m *Message) string { return minorToMajor(m.Field(4)) }

// minorToMajor shows an amount in minor units as the steps write it.
func minorToMajor(s string) string {
	n, err := strconv.ParseInt(strings.TrimLeft(s, "0"), 10, 64)
	if err != nil {
		n = 0
	}
	return money.Format(n)
}

func countOf(m *Message, n int) string {
	v := strings.TrimLeft(m.Field(n), "0")
	if v == "" {
		return "0"
	}
	return v
}

func plural(n string) string {
	if n == "1" {
		return ""
	}
	return "s"
}

// Sequence is what a trace shows happened, as "MTI" for requests and
// "MTI code" for answers, in order: the lab's timeline of a generated
// feature gives the same sequence as the trace it was made from. Echo
// tests are left out (every possim terminal command sends its own; the
// lab's terminal one at power-on), and of a timeline the host's copies
// are taken.
func Sequence(t *Trace) []string {
	var out []string
	hostOnly := false
	for _, m := range t.Messages {
		if m.HasAt && m.Conn == "host" {
			hostOnly = true
		}
	}
	for _, m := range t.Messages {
		if m.Kind != KindISO || m.Malformed != "" || m.NotSent || (hostOnly && m.Conn != "host") {
			continue
		}
		if strings.HasPrefix(m.MTI, "08") && m.Field(70) == iso.NetEcho {
			continue
		}
		s := m.MTI
		if isResponse(m.MTI) {
			s += " " + m.Field(39)
		}
		out = append(out, s)
	}
	return out
}
