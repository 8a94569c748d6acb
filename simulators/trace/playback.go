package trace

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
)

// MatchKeys are the request fields a playback can match on, by name.
var MatchKeys = map[string]int{
	"mti": 0, "proc": 3, "amount": 4, "terminal": 41, "merchant": 42, "network": 70, "pan": 2,
}

// DefaultMatch is the playback key: MTI, processing code, amount,
// terminal, and for network management its code (field 70 tells a
// sign-on from an echo as field 3 tells a sale from a refund).
const DefaultMatch = "mti,proc,amount,terminal,network"

// Player answers requests as a recording did: the n-th request with the
// same key gets the answer the n-th such request got then.
type Player struct {
	keys []int
	mu   sync.Mutex
	recs map[string][]recorded
	seen map[string]int
}

type recorded struct {
	req, resp *Message
	action    string
	delay     time.Duration
}

// NewPlayer reads the exchanges of t. match lists the key fields by name,
// comma separated ("" for DefaultMatch).
func NewPlayer(t *Trace, match string) (*Player, error) {
	if match == "" {
		match = DefaultMatch
	}
	p := &Player{recs: map[string][]recorded{}, seen: map[string]int{}}
	for _, name := range strings.Split(match, ",") {
		n, ok := MatchKeys[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("match key %q: want a comma-separated list of mti, proc, amount, terminal, merchant, network, pan", name)
		}
		p.keys = append(p.keys, n)
	}
	reqs, answers := requests(t)
	if len(reqs) == 0 {
		return nil, ErrNothingToReplay
	}
	notSent := map[int]*Message{}
	for _, m := range t.Messages {
		if m.Role == RoleNotSent {
			notSent[m.Exchange] = m
		}
	}
	// A not-sent answer belongs to the request before it on its connection.
	last := map[string]*Message{}
	for _, m := range t.Messages {
		if m.Kind != KindISO {
			continue
		}
		if m.Dir == DirIn && (m.Role == RoleRequest || m.Role == RoleUnanswered) {
			last[m.Conn] = m
		}
		if m.Role == RoleNotSent && last[m.Conn] != nil {
			notSent[last[m.Conn].Exchange] = m
		}
	}
	for _, q := range reqs {
		rec := recorded{req: q, resp: answers[q], action: acquirer.PlayAnswer}
		switch {
		case rec.resp != nil:
			rec.delay = offset(rec.resp) - offset(q)
		case notSent[q.Exchange] != nil && strings.Contains(notSent[q.Exchange].Note, "connection closed"),
			notSent[q.Exchange] != nil && strings.Contains(notSent[q.Exchange].Note, "connection reset"):
			rec.action = acquirer.PlayClose
			rec.delay = offset(notSent[q.Exchange]) - offset(q)
		default:
			rec.action = acquirer.PlaySilence
		}
		rec.delay = max(rec.delay, 0)
		k := p.keyOfRecorded(q)
		p.recs[k] = append(p.recs[k], rec)
	}
	return p, nil
}

func (p *Player) keyOfRecorded(m *Message) string {
	var b strings.Builder
	for _, n := range p.keys {
		if n == 0 {
			b.WriteString(m.MTI)
		} else {
			b.WriteString(m.Field(n))
		}
		b.WriteByte('|')
	}
	return b.String()
}

func (p *Player) keyOf(m *iso8583.Message) string {
	masked := iso.MaskFields(m)
	var b strings.Builder
	for _, n := range p.keys {
		if n == 0 {
			mti, _ := m.GetMTI()
			b.WriteString(mti)
		} else {
			b.WriteString(masked[strconv.Itoa(n)])
		}
		b.WriteByte('|')
	}
	return b.String()
}

// Plan implements acquirer.Playback.
func (p *Player) Plan(req *iso8583.Message) (acquirer.PlaybackPlan, bool) {
	k := p.keyOf(req)
	p.mu.Lock()
	n := p.seen[k]
	p.seen[k] = n + 1
	recs := p.recs[k]
	p.mu.Unlock()
	if n >= len(recs) {
		return acquirer.PlaybackPlan{}, false
	}
	rec := recs[n]
	plan := acquirer.PlaybackPlan{Action: rec.action, Delay: rec.delay,
		Note: fmt.Sprintf("exchange %d (%s)", rec.req.Exchange, rec.req.Where)}
	if rec.resp != nil {
		plan.Code = rec.resp.Field(39)
		plan.Rewrite = func(resp *iso8583.Message) { rewrite(resp, req, rec) }
	}
	return plan, true
}

// rewrite makes the host's answer the recorded one: the recorded fields,
// where the recording echoed its request the new request's value, the
// host's own RRN, approval code and session key (they must be fresh or
// usable), and nothing the recorded answer did not have.
func rewrite(resp, req *iso8583.Message, rec recorded) {
	want := map[int]string{}
	for _, f := range rec.resp.Fields {
		want[f.Num] = f.Value
	}
	for id := range resp.GetFields() {
		if _, ok := want[id]; !ok && id > 1 {
			resp.UnsetField(id)
		}
	}
	resp.MTI(rec.resp.MTI)
	for n, v := range want {
		hostHas := resp.GetField(n) != nil
		switch {
		case v == rec.req.Field(n):
			if s, err := req.GetString(n); err == nil && s != "" {
				resp.Field(n, s)
			} else if req.GetField(n) != nil {
				if b, err := req.GetField(n).Bytes(); err == nil {
					resp.BinaryField(n, b)
				}
			} else {
				resp.UnsetField(n)
			}
		case masked(v), n == 37, n == 38, n == 7, n == 12, n == 13:
			// The host's own value, when it made one: card data cannot
			// be played back from a masked trace, and references and
			// times must be this run's.
			if !hostHas && !masked(v) {
				resp.Field(n, v)
			}
		default:
			resp.Field(n, v)
		}
	}
}

func masked(v string) bool {
	return isLengthOnly(v) || strings.Contains(v, "*") || strings.HasPrefix(v, "[")
}
