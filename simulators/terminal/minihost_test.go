package terminal

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// miniHost is a minimal ISO 8583 host written only against the wire
// (iso8583-connection and the possim87 spec), not our acquirer: the
// terminal must work with any host that speaks the protocol.
type miniHost struct {
	t       testing.TB
	p       *profile.Profile
	key     []byte // session PIN key
	mu      sync.Mutex
	conns   []*connection.Connection
	seen    []*iso8583.Message
	journal map[string]*hostTxn // by STAN
	rrn     int
	down    bool // refuse connections, as a host in maintenance or a cut line
	// rule may change the response or drop it (return false). It runs
	// after the default decision.
	rule func(mti string, req, resp *iso8583.Message) bool
}

type hostTxn struct {
	proc   string
	amount int64
	voided bool
}

func newMiniHost(t testing.TB, p *profile.Profile) *miniHost {
	return &miniHost{t: t, p: p, key: []byte("0123456789abcdef"), journal: map[string]*hostTxn{}}
}

// dial serves one in-memory connection (virtual mode).
func (h *miniHost) dial() (net.Conn, error) {
	h.mu.Lock()
	down := h.down
	h.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	a, b := net.Pipe()
	h.serve(b)
	return a, nil
}

func (h *miniHost) serve(nc net.Conn) {
	c, err := connection.NewFrom(nc, iso.Spec87, iso.ReadLength, iso.WriteLength,
		connection.IdleTime(1<<40), connection.ReadTimeout(1<<40),
		connection.InboundMessageHandler(h.handle))
	if err != nil {
		h.t.Errorf("mini host: %v", err)
		return
	}
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
}

func (h *miniHost) close() {
	h.mu.Lock()
	cs := h.conns
	h.conns = nil
	h.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
}

// mtis lists the MTIs received, in order.
func (h *miniHost) mtis() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.seen {
		mti, _ := m.GetMTI()
		out = append(out, mti)
	}
	return out
}

// last returns the last request with this MTI.
func (h *miniHost) last(mti string) *iso8583.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.seen) - 1; i >= 0; i-- {
		if m, _ := h.seen[i].GetMTI(); m == mti {
			return h.seen[i]
		}
	}
	return nil
}

func (h *miniHost) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

func (h *miniHost) setRule(r func(mti string, req, resp *iso8583.Message) bool) {
	h.mu.Lock()
	h.rule = r
	h.mu.Unlock()
}

func get(m *iso8583.Message, id int) string { s, _ := m.GetString(id); return s }

func (h *miniHost) handle(c *connection.Connection, req *iso8583.Message) {
	mti, _ := req.GetMTI()
	resp := iso8583.NewMessage(iso.Spec87)
	resp.MTI(iso.ResponseMTI(mti))
	for _, id := range []int{3, 4, 11, 12, 13, 41, 42, 49, 70, 74, 76, 86, 88} {
		if v := get(req, id); v != "" {
			resp.Field(id, v)
		}
	}
	h.mu.Lock()
	h.seen = append(h.seen, req)
	code := h.decide(mti, req, resp)
	resp.Field(39, code)
	rule := h.rule
	h.mu.Unlock()
	if rule != nil && !rule(mti, req, resp) {
		return
	}
	if err := c.Reply(resp); err != nil {
		h.t.Logf("mini host reply: %v", err)
	}
}

// decide applies the host's few rules; h.mu is held.
func (h *miniHost) decide(mti string, req, resp *iso8583.Message) string {
	amount, _ := strconv.ParseInt(get(req, 4), 10, 64)
	stan := get(req, 11)
	origSTAN := ""
	if f90 := get(req, 90); f90 != "" {
		_, origSTAN, _, _ = iso.ParseOriginalData(f90)
	}
	switch mti {
	case iso.MTINetworkRequest:
		if get(req, 70) == iso.NetSignOn {
			enc, _ := card.EncryptKey(h.p.Keys.TMK(), h.key)
			kcv, _ := card.KCV(h.key)
			resp.Field(62, fmt.Sprintf("%X%s", enc, kcv))
		}
		return iso.RCApproved
	case iso.MTIFinancialRequest, iso.MTIAuthRequest, iso.MTIAdvice:
		if blk, _ := req.GetBytes(52); len(blk) > 0 {
			if pin, err := card.DecryptPIN(h.key, blk, get(req, 2)); err != nil || pin != "1234" {
				return iso.RCIncorrectPIN
			}
		}
		if icc, _ := req.GetBytes(55); len(icc) > 0 {
			r, arqc, err := card.ParseICCData(icc)
			if err != nil {
				return iso.RCFormatError
			}
			sk, err := card.VerifyARQC(h.p.Keys.IMK(), get(req, 2), r, arqc)
			if err != nil {
				return iso.RCDoNotHonour
			}
			arpc, _ := card.ARPC1(sk, arqc, iso.RCApproved)
			resp.BinaryField(55, card.EncodeTLV(card.TLV{Tag: card.TagIssuerAuthData, Value: append(arpc, "00"...)}))
		}
		proc := get(req, 3)
		switch proc {
		case iso.ProcVoid:
			o := h.journal[origSTAN]
			if o == nil || o.voided {
				return iso.RCOriginalNotFound
			}
			o.voided = true
		case iso.ProcPreAuth:
		default:
			h.journal[stan] = &hostTxn{proc: proc, amount: amount}
		}
		h.rrn++
		resp.Field(37, fmt.Sprintf("%012d", h.rrn))
		resp.Field(38, fmt.Sprintf("A%05d", h.rrn))
		resp.Field(63, "D0")
		return iso.RCApproved
	case iso.MTIReversal, iso.MTIReversalRepeat:
		o := h.journal[origSTAN]
		if o == nil {
			return iso.RCOriginalNotFound
		}
		delete(h.journal, origSTAN)
		return iso.RCApproved
	case iso.MTIBatchUpload:
		if h.journal[origSTAN] == nil {
			h.journal[origSTAN] = &hostTxn{proc: get(req, 3), amount: amount}
		}
		return iso.RCApproved
	case iso.MTIReconcile:
		var tot Totals
		for _, x := range h.journal {
			switch {
			case x.voided:
			case x.proc == iso.ProcRefund:
				tot.RefundsCount++
				tot.RefundsAmount += x.amount
			default:
				tot.SalesCount++
				tot.SalesAmount += x.amount
			}
		}
		num := func(id int) int64 { v, _ := strconv.ParseInt(get(req, id), 10, 64); return v }
		if tot != (Totals{num(74), num(86), num(76), num(88)}) {
			return iso.RCReconcileError
		}
		h.journal = map[string]*hostTxn{}
		return iso.RCApproved
	}
	return iso.RCInvalidTransaction
}
