package trace

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// ReplayOptions say how to play a trace's terminal side against a host.
type ReplayOptions struct {
	Addr string // host address, host:port
	// Speed divides the recorded gaps between requests (2: twice as fast);
	// 0 sends each request as soon as the one before it is answered.
	Speed float64
	// FreshKeys gives every request a new STAN and the current date and
	// time, so a host's duplicate check does not refuse the replay.
	FreshKeys bool
	Strict    bool             // fail the fields that always differ too
	Profile   *profile.Profile // for masked PANs and the TMK; nil: default
	// Dialect is the wire the host speaks; nil: possim87. Requests go in
	// the TPDU and header they were recorded with, else the dialect's.
	Dialect *iso.Dialect
	// AnswerTimeout is how long an answer the recording has is waited for
	// (0: 10 s); Silence how long one it has not (0: the recorded gap to
	// the next request on its connection, at most AnswerTimeout; else 500 ms).
	AnswerTimeout time.Duration
	Silence       time.Duration
	Now           func() time.Time // nil: time.Now
}

// ExchangeResult is one replayed exchange.
type ExchangeResult struct {
	N         int      `json:"exchange"` // the exchange number in the trace
	Conn      int      `json:"conn"`     // 1-based replay connection
	MTI       string   `json:"mti"`
	STAN      string   `json:"stan"`      // recorded
	SentSTAN  string   `json:"sent_stan"` // as sent
	Recorded  string   `json:"recorded"`  // recorded answer: "0210 00", "no answer"
	Got       string   `json:"got"`       // the same for this run
	Match     bool     `json:"match"`
	Diffs     []Diff   `json:"diffs,omitempty"`
	AsAlways  []Diff   `json:"differ_as_always,omitempty"` // listed, not failed
	Notes     []string `json:"notes,omitempty"`
	NotSent   string   `json:"not_sent,omitempty"` // why the request could not be sent
	recorded  *Message
	got       *iso8583.Message
	sent      *iso8583.Message
	sentTimes time.Time
}

// Diff is one field that differs.
type Diff struct {
	Num      int    `json:"num"`
	Name     string `json:"name"`
	Recorded string `json:"recorded"` // "" when absent
	Got      string `json:"got"`
}

// ReplayResult is what a replay found.
type ReplayResult struct {
	Exchanges []*ExchangeResult `json:"exchanges"`
	Conns     int               `json:"connections"`
	Notes     []string          `json:"notes,omitempty"`
}

// Matched says whether every exchange answered as recorded.
func (r *ReplayResult) Matched() bool {
	for _, e := range r.Exchanges {
		if !e.Match {
			return false
		}
	}
	return true
}

// ErrNothingToReplay is returned for a trace without a terminal request.
var ErrNothingToReplay = errors.New("the trace holds no request from a terminal to replay")

// requests are the trace's terminal requests in order, with the answer
// each had (nil when none). A lab timeline has the terminal's and the
// host's copy of every message; the host's are used.
func requests(t *Trace) (reqs []*Message, answers map[*Message]*Message) {
	hostOnly := false
	for _, m := range t.Messages {
		if m.HasAt && m.Conn == "host" {
			hostOnly = true
		}
	}
	answers = map[*Message]*Message{}
	byEx := map[int]*Message{}
	for _, m := range t.Messages {
		if m.Kind != KindISO || m.Malformed != "" || (hostOnly && m.Conn != "host") {
			continue
		}
		switch m.Role {
		case RoleRequest, RoleUnanswered:
			if m.Dir == DirIn {
				reqs = append(reqs, m)
				byEx[m.Exchange] = m
			}
		case RoleResponse:
			if q := byEx[m.Exchange]; q != nil && answers[q] == nil {
				answers[q] = m
			}
		}
	}
	return reqs, answers
}

// Replay plays the terminal side of t against the host at opts.Addr, on
// as many connections as the trace had, and compares every answer with
// the recorded one.
func Replay(ctx context.Context, t *Trace, opts ReplayOptions) (*ReplayResult, error) {
	opts.Dialect = wire(opts.Dialect)
	if opts.Profile == nil {
		opts.Profile = profile.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AnswerTimeout <= 0 {
		opts.AnswerTimeout = 10 * time.Second
	}
	reqs, answers := requests(t)
	if len(reqs) == 0 {
		return nil, ErrNothingToReplay
	}
	rb := newRebuilder(opts.Dialect.Spec, opts.Profile, opts.FreshKeys, opts.Now)
	res := &ReplayResult{}
	for _, m := range t.Messages {
		if m.Kind == KindISO && m.Malformed != "" && m.Dir != DirOut {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: a malformed frame (%s) is not replayed: only its first bytes are kept", m.Where, m.Malformed))
		}
	}
	conns := map[string]*replayConn{}
	last := map[string]int{} // trace connection -> index of its last request
	for i, m := range reqs {
		last[m.Conn] = i
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer func() {
		// Closed first: an answer still awaited ends at once.
		for _, c := range conns {
			c.close()
		}
	}()
	done := make([]chan struct{}, len(reqs))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var mu sync.Mutex // guards rb between the exchanges in flight
	start := opts.Now()
	first := offset(reqs[0])
	for i, m := range reqs {
		if opts.Speed > 0 {
			due := start.Add(time.Duration(float64(offset(m)-first) / opts.Speed))
			if err := sleepUntil(ctx, opts.Now, due); err != nil {
				return res, err
			}
		}
		// A request waits for what was over before it was sent: the
		// exchange before it on its connection, and every answer recorded
		// before it (a session key or an RRN it may use). Without pacing
		// it waits for everything before it.
		for j := range i {
			q := reqs[j]
			if opts.Speed <= 0 || q.Conn == m.Conn || (answers[q] != nil && offset(answers[q]) <= offset(m)) {
				select {
				case <-done[j]:
				case <-ctx.Done():
					return res, ctx.Err()
				}
			}
		}
		e := &ExchangeResult{N: m.Exchange, MTI: m.MTI, STAN: m.Field(11), recorded: answers[m]}
		e.Recorded = describe(e.recorded)
		res.Exchanges = append(res.Exchanges, e)
		c := conns[m.Conn]
		if c == nil {
			var err error
			c, err = dial(ctx, opts, len(conns)+1)
			if err != nil {
				return res, err
			}
			conns[m.Conn] = c
			res.Conns = len(conns)
		}
		e.Conn = c.n
		mu.Lock()
		msg, notes, err := rb.build(m)
		mu.Unlock()
		e.Notes = notes
		if err != nil {
			e.NotSent = err.Error()
			e.Got = "not sent"
			compare(e, m, opts.Strict)
			close(done[i])
			continue
		}
		e.SentSTAN, _ = msg.GetString(11)
		if err := c.send(msg, iso.Envelope{TPDU: m.TPDU, Header: m.AppHeader}); err != nil {
			close(done[i])
			return res, fmt.Errorf("exchange %d on connection %d: %w", m.Exchange, c.n, err)
		}
		e.sent = msg
		wait := opts.AnswerTimeout
		if e.recorded == nil {
			wait = silence(opts, reqs, i)
		}
		tid, _ := msg.GetString(41)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			e.got = c.await(ctx, iso.ResponseMTI(m.MTI), e.SentSTAN, tid, wait)
			e.Got = describeISO(e.got)
			mu.Lock()
			rb.learn(e.recorded, e.got)
			mu.Unlock()
			if last[m.Conn] == i {
				c.close()
			}
			compare(e, m, opts.Strict)
		}()
	}
	wg.Wait()
	return res, nil
}

// offset places m on one time line: the timeline's offset, else the wall
// clock (a time of day without a date counts from its day zero).
func offset(m *Message) time.Duration {
	switch {
	case m.HasAt:
		return m.At
	case m.Time.Year() < 1700:
		return m.Time.Sub(time.Date(m.Time.Year(), 1, 1, 0, 0, 0, 0, m.Time.Location()))
	}
	return time.Duration(m.Time.UnixNano())
}

// silence is how long an answer the recording did not have is waited for.
func silence(opts ReplayOptions, reqs []*Message, i int) time.Duration {
	if opts.Silence > 0 {
		return opts.Silence
	}
	if opts.Speed <= 0 {
		return 500 * time.Millisecond
	}
	for _, next := range reqs[i+1:] {
		if next.Conn == reqs[i].Conn {
			d := time.Duration(float64(offset(next)-offset(reqs[i])) / opts.Speed)
			return min(max(d, 100*time.Millisecond), opts.AnswerTimeout)
		}
	}
	return 500 * time.Millisecond
}

func sleepUntil(ctx context.Context, now func() time.Time, due time.Time) error {
	d := due.Sub(now())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func describe(m *Message) string {
	if m == nil {
		return "no answer"
	}
	return m.MTI + " " + m.Field(39)
}

func describeISO(m *iso8583.Message) string {
	if m == nil {
		return "no answer"
	}
	mti, _ := m.GetMTI()
	rc, _ := m.GetString(39)
	return mti + " " + rc
}
