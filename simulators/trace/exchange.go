package trace

import (
	"fmt"
	"sort"
	"strings"

	"github.com/possim/possim/simulators/iso"
)

// Roles of a message in its exchange.
const (
	RoleRequest     = "request"
	RoleResponse    = "response"
	RoleUnanswered  = "unanswered"  // a request no response matched
	RoleUnsolicited = "unsolicited" // a response no request matched
	RoleNotSent     = "not sent"    // recorded by its sender, never on the wire
)

// isResponse: the third MTI digit is odd for responses (0210, 0410, 0810).
func isResponse(mti string) bool {
	return len(mti) == 4 && mti[2] >= '0' && mti[2] <= '9' && (mti[2]-'0')%2 == 1
}

// Match pairs each response with the earliest open request on the same
// connection whose response MTI, STAN (field 11) and terminal (field 41)
// it carries, and numbers the exchanges in order of their requests. A
// second response to an answered request (a duplicate) joins the same
// exchange.
func Match(msgs []*Message) {
	type key struct{ conn, mti, stan, tid string }
	open := map[key][]*Message{}
	answered := map[key]*Message{}
	n := 0
	for _, m := range msgs {
		m.Exchange, m.Role = 0, ""
		if m.Kind != KindISO || m.Malformed != "" || len(m.MTI) != 4 {
			continue
		}
		if m.NotSent {
			m.Role = RoleNotSent
			continue
		}
		if !isResponse(m.MTI) {
			n++
			m.Exchange, m.Role = n, RoleUnanswered
			k := key{m.Conn, iso.ResponseMTI(m.MTI), m.Field(11), m.Field(41)}
			open[k] = append(open[k], m)
			continue
		}
		k := key{m.Conn, m.MTI, m.Field(11), m.Field(41)}
		if q := open[k]; len(q) > 0 {
			req := q[0]
			open[k] = q[1:]
			req.Role = RoleRequest
			m.Exchange, m.Role = req.Exchange, RoleResponse
			answered[k] = req
			continue
		}
		if req, ok := answered[k]; ok {
			m.Exchange, m.Role = req.Exchange, RoleResponse
			continue
		}
		m.Role = RoleUnsolicited
	}
}

// Summary counts what a trace holds.
type Summary struct {
	Messages    int            `json:"messages"`
	Exchanges   int            `json:"exchanges"`
	Unanswered  int            `json:"unanswered"`
	Unsolicited int            `json:"unsolicited"`
	Reversals   int            `json:"reversals"`
	Malformed   int            `json:"malformed"`
	NotSent     int            `json:"not_sent"`
	Codes       map[string]int `json:"response_codes"`
}

// Summarize counts the messages, exchanges, unanswered requests, reversals
// (04xx requests), malformed frames and response codes.
func Summarize(msgs []*Message) Summary {
	s := Summary{Codes: map[string]int{}}
	seen := map[int]bool{}
	for _, m := range msgs {
		if m.Kind != KindISO {
			continue
		}
		s.Messages++
		switch {
		case m.Malformed != "":
			s.Malformed++
			continue
		case m.Role == RoleUnsolicited:
			s.Unsolicited++
		case m.Role == RoleUnanswered:
			s.Unanswered++
		case m.Role == RoleNotSent:
			s.NotSent++
			continue
		}
		if m.Exchange > 0 && !seen[m.Exchange] {
			seen[m.Exchange] = true
			s.Exchanges++
			if strings.HasPrefix(m.MTI, "04") {
				s.Reversals++
			}
		}
		if isResponse(m.MTI) {
			if rc := m.Field(39); rc != "" {
				s.Codes[rc]++
			}
		}
	}
	return s
}

// String is the summary line.
func (s Summary) String() string {
	var codes []string
	for c, n := range s.Codes {
		codes = append(codes, fmt.Sprintf("%s %s x%d", c, iso.ResponseText(c), n))
	}
	sort.Strings(codes)
	rc := "none"
	if len(codes) > 0 {
		rc = strings.Join(codes, ", ")
	}
	return fmt.Sprintf("summary: %d messages, %d exchanges, %d unanswered, %d unsolicited, %d reversals, %d malformed, %d recorded but not sent; response codes: %s",
		s.Messages, s.Exchanges, s.Unanswered, s.Unsolicited, s.Reversals, s.Malformed, s.NotSent, rc)
}
