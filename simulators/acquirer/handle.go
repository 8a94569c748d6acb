package acquirer

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/card"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// req is a request with the fields the rules read, taken once.
type req struct {
	m                                         *iso8583.Message
	mti, proc, stan, tid, mid, dt, localDate  string
	amountStr, entry, f48, f60, f90, currency string
	pan, expiry                               string
	amount                                    int64
	amountOK                                  bool
	why                                       string       // why the host answered as it did, when not the code's meaning
	env                                       iso.Envelope // the answer's TPDU and header
	key                                       ledger.Key
	now                                       time.Time
}

func (h *Host) get(m *iso8583.Message, id int) string {
	s, _ := m.GetString(id)
	return s
}

func (h *Host) parse(m *iso8583.Message, mti string) *req {
	r := &req{m: m, mti: mti, now: h.now()}
	r.proc = h.get(m, 3)
	r.amountStr = h.get(m, 4)
	r.dt = h.get(m, 7)
	r.stan = h.get(m, 11)
	r.localDate = h.get(m, 13)
	r.tid = h.get(m, 41)
	r.mid = h.get(m, 42)
	if mti != iso.MTINetworkRequest {
		r.pan = h.get(m, 2)
		r.expiry = h.get(m, 14)
		r.entry = h.get(m, 22)
		r.f48 = h.get(m, 48)
		r.currency = h.get(m, 49)
		r.f90 = h.get(m, 90)
		if r.pan == "" {
			if t2 := h.get(m, 35); t2 != "" {
				if pan, exp, ok := expiryOfTrack2(t2); ok {
					r.pan = pan
					if r.expiry == "" {
						r.expiry = exp
					}
				} else {
					r.pan = "?" // present but unreadable: a format error
				}
			}
		}
	}
	r.f60 = h.get(m, 60)
	if r.amountStr != "" && digits(r.amountStr) {
		r.amount, _ = strconv.ParseInt(r.amountStr, 10, 64)
		r.amountOK = true
	}
	r.key = ledger.Key{TID: r.tid, STAN: r.stan, Date: keyDate(r.dt, r.localDate, r.now)}
	return r
}

// keyDate is the date part of a transaction's key: MMDD of field 7 (which
// field 90 of a reversal repeats), else field 13, else the host's date.
func keyDate(dt, local string, now time.Time) string {
	switch {
	case len(dt) == 10 && digits(dt):
		return dt[:4]
	case len(local) == 4 && digits(local):
		return local
	}
	return now.Format("0102")
}

// origKey reads field 90 into the original's key (same terminal).
func (r *req) origKey() (*ledger.Key, bool) {
	_, stan, dt, err := iso.ParseOriginalData(r.f90)
	if err != nil || !digits(stan) || !digits(dt) {
		return nil, false
	}
	return &ledger.Key{TID: r.tid, STAN: stan, Date: dt[:4]}, true
}

// batch is the batch number at the head of field 60.
func (r *req) batch() string {
	if len(r.f60) >= 6 && digits(r.f60[:6]) {
		return r.f60[:6]
	}
	return ""
}

// softwareVersion is field 60 of a sign-on, with a leading batch number
// skipped if the terminal sent one.
func softwareVersion(f60 string) string {
	if len(f60) > 6 && digits(f60[:6]) && strings.Contains(f60[6:], ".") {
		return f60[6:]
	}
	return f60
}

// has reports whether every listed field is present.
func (r *req) has(ids ...int) bool {
	for _, id := range ids {
		if r.m.GetField(id) == nil {
			return false
		}
	}
	return true
}

// onMessage handles one inbound message on a goroutine of its own (see
// readLoop), so messages are handled concurrently.
func (h *Host) onMessage(hc *hostConn, m *iso8583.Message, env iso.Envelope) {
	select {
	case <-h.done:
		return
	default:
	}
	h.msgSeen.Add(1)
	mti, _ := m.GetMTI()
	if m.GetSpec() == malformedSpec {
		h.malformed(hc, m, mti, env)
		return
	}
	// The reader closed the connection on a non-numeric MTI (frameReader).
	if (mti[2]-'0')%2 == 1 {
		h.warn.Warn("response", "ignoring a response sent to the host", "remote", hc.remote, "mti", mti)
		return
	}
	r := h.parse(m, mti)
	r.env = env
	h.countIn(mti)
	h.emit("in", hc, m, mti, "")
	if h.MaintenanceMode() == MaintenanceRespond {
		r.why = "maintenance mode"
		h.send(hc, r, h.response(r, iso.RCHostUnavailable), nil)
		return
	}
	if ferr := checkFields(m); ferr != nil {
		// Answered 30 before any rule or fault looks at it: a request the
		// host cannot key or date is never journaled.
		h.countBad(false)
		r.why = ferr.Error()
		h.warn.Warn(ferr.kind(), "format error", "remote", hc.remote, "mti", mti, "field", ferr.field, "err", r.why)
		h.send(hc, r, h.response(r, iso.RCFormatError), nil)
		return
	}
	if h.wrongDialect(hc, r) {
		return
	}
	pan := r.pan
	if pan == "" && strings.HasPrefix(r.entry, iso.EntryQR) {
		pan = strings.TrimSpace(r.f48) // a QR payment code matches like a PAN
	}
	plan, fired := h.faults.fire(subject{mti: mti, proc: r.proc, pan: pan, tid: r.tid, amount: r.amount, hasAmount: r.amountOK})
	var p *Fault
	if fired {
		p = &plan
		h.log.Info("fault fires", "fault", plan.Name, "id", plan.ID, "action", plan.Action, "mti", mti, "stan", r.stan)
	}
	var rewrite func(*iso8583.Message)
	if p == nil && h.cfg.Playback != nil {
		p, rewrite = h.playback(r)
	}
	var resp *iso8583.Message
	if p != nil && p.Action == ActMaintenance {
		code := p.Code
		if code == "" {
			code = iso.RCHostUnavailable
		}
		resp = h.response(r, code)
	} else {
		resp = h.dispatch(r, p)
	}
	if resp != nil && rewrite != nil {
		rewrite(resp)
	}
	if resp != nil {
		h.flagKeyChange(r, resp, p)
		h.send(hc, r, resp, p)
	}
}

// malformed answers a frame that did not unpack but whose MTI could be read.
func (h *Host) malformed(hc *hostConn, m *iso8583.Message, mti string, env iso.Envelope) {
	h.countBad(false)
	why, _ := m.GetString(48)
	m.UnsetField(48) // the reason travels in the note, not as a field 48
	h.warn.Warn("format", "format error", "remote", hc.remote, "mti", mti, "err", why)
	h.emit("in", hc, m, mti, "malformed: "+why)
	if len(mti) != 4 || (mti[2]-'0')%2 == 1 {
		return
	}
	resp := iso8583.NewMessage(h.spec)
	resp.MTI(iso.ResponseMTI(mti))
	for _, id := range []int{11, 41} {
		if s, _ := m.GetString(id); s != "" {
			resp.Field(id, s)
		}
	}
	resp.Field(39, iso.RCFormatError)
	stan, _ := m.GetString(11)
	tid, _ := m.GetString(41)
	h.send(hc, &req{m: m, mti: mti, stan: stan, tid: tid, why: "frame does not unpack: " + why, env: env}, resp, nil)
}

// dispatch decides a request and returns the response to send.
func (h *Host) dispatch(r *req, p *Fault) *iso8583.Message {
	ctx := context.Background()
	switch r.mti {
	case iso.MTINetworkRequest:
		return h.network(r, p)
	case iso.MTIAuthRequest, iso.MTIFinancialRequest:
		return h.financial(ctx, r, p)
	case iso.MTIAdvice, iso.MTIAdviceRepeat:
		return h.advice(ctx, r, p)
	case iso.MTIReversal, iso.MTIReversalRepeat, iso.MTIReversalAdvice, iso.MTIReversalAdviceRepeat:
		return h.reversal(ctx, r, p)
	case iso.MTIReconcile:
		return h.reconcile(ctx, r, p)
	case iso.MTIBatchUpload:
		return h.upload(ctx, r, p)
	}
	return h.response(r, iso.RCInvalidTransaction)
}

// echoed are the request fields a response repeats.
var echoed = []int{3, 4, 7, 11, 12, 13, 22, 25, 41, 42, 49, 60, 90}

// response starts the response to r with code in field 39.
func (h *Host) response(r *req, code string) *iso8583.Message {
	resp := iso8583.NewMessage(h.spec)
	resp.MTI(iso.ResponseMTI(r.mti))
	for _, id := range echoed {
		if f := r.m.GetField(id); f != nil {
			if s, err := f.String(); err == nil && s != "" {
				resp.Field(id, s)
			}
		}
	}
	resp.Field(39, code)
	return resp
}

// responseInPlace turns the request itself into its response: the same
// fields as response, without creating them again. Building the answer to
// an approved sale afresh cost about 5 % of the host's CPU and 30
// allocations (moov-io/iso8583 creates each field and copies its value
// twice). Only for callers that read nothing more from r.m afterwards.
func (h *Host) responseInPlace(r *req, code string) *iso8583.Message {
	m := r.m
	if m.GetSpec() != h.spec {
		return h.response(r, code)
	}
	for id, f := range m.GetFields() {
		if id <= 1 {
			continue
		}
		if slices.Contains(echoed, id) {
			if s, err := f.String(); err == nil && s != "" {
				continue
			}
		}
		m.UnsetField(id)
	}
	m.MTI(iso.ResponseMTI(r.mti))
	m.Field(39, code)
	return m
}

// forced is the code a respond fault imposes, if any.
func forced(p *Fault) (string, bool) {
	if p != nil && p.Action == ActRespond {
		return p.Code, true
	}
	return "", false
}

// checkTerminal applies the merchant and terminal registry: 03 for an
// unknown merchant, 58 for an unknown terminal or one bound to another
// merchant, and 58 for a terminal that has not signed on when the host
// requires it.
func (h *Host) checkTerminal(r *req, needSignOn bool) string {
	if _, ok := h.prof().Merchant(r.mid); !ok {
		return iso.RCInvalidMerchant
	}
	t, ok := h.prof().Terminal(r.tid)
	if !ok || t.Merchant != r.mid {
		return iso.RCNotPermittedTerm
	}
	if needSignOn && h.cfg.RequireSignOn && !h.SignedOn(r.tid) {
		return iso.RCNotPermittedTerm
	}
	return ""
}

// network handles 0800: sign-on and key change hand out a session PIN key
// under the TMK (field 62), sign-off forgets it, echo answers 00.
func (h *Host) network(r *req, p *Fault) *iso8583.Message {
	code70 := h.get(r.m, 70)
	if !r.has(11, 41, 70) {
		return h.response(r, iso.RCFormatError)
	}
	resp := func(code string) *iso8583.Message {
		m := h.response(r, code)
		m.Field(70, code70)
		return m
	}
	if code, ok := forced(p); ok {
		return resp(code)
	}
	switch code70 {
	case iso.NetEcho:
		return resp(iso.RCApproved)
	case iso.NetSignOff:
		h.mu.Lock()
		delete(h.sessions, r.tid)
		h.mu.Unlock()
		return resp(iso.RCApproved)
	case iso.NetSignOn, iso.NetKeyChange:
	default:
		return resp(iso.RCInvalidTransaction)
	}
	t, ok := h.prof().Terminal(r.tid)
	if !ok {
		return resp(iso.RCNotPermittedTerm)
	}
	if r.mid != "" {
		if _, ok := h.prof().Merchant(r.mid); !ok {
			return resp(iso.RCInvalidMerchant)
		}
		if t.Merchant != r.mid {
			return resp(iso.RCNotPermittedTerm)
		}
	}
	if min := h.prof().Host.MinTerminalSoftware; min != "" && r.f60 != "" {
		if v := softwareVersion(r.f60); versionLess(v, min) {
			h.log.Warn("refusing outdated terminal software", "tid", r.tid, "version", v, "min", min)
			return resp(iso.RCInvalidTransaction)
		}
	}
	key := make([]byte, 16)
	h.rngMu.Lock()
	for i := range key {
		key[i] = byte(h.rng.UintN(256))
	}
	h.rngMu.Unlock()
	key = card.AdjustParity(key)
	enc, err := card.EncryptKey(h.prof().Keys.TMK(), key)
	kcv, err2 := card.KCV(key)
	if err != nil || err2 != nil {
		h.log.Error("making session key: bad terminal master key in profile", "err", err, "err2", err2)
		return resp(iso.RCSystemError)
	}
	h.mu.Lock()
	h.sessions[r.tid] = key
	h.mu.Unlock()
	m := resp(iso.RCApproved)
	m.Field(62, strings.ToUpper(hexString(enc))+kcv)
	return m
}

const hexDigits = "0123456789ABCDEF"

func hexString(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = hexDigits[c>>4], hexDigits[c&15]
	}
	return string(out)
}

func amount12(v int64) string {
	s := strconv.FormatInt(v, 10)
	if len(s) >= 12 {
		return s
	}
	return strings.Repeat("0", 12-len(s)) + s
}

// ids makes a retrieval reference number (MMDD + 8 digits) and an
// authorisation code from the seeded source, so a seeded run is
// reproducible.
func (h *Host) ids() (rrn, auth string) {
	h.rngMu.Lock()
	a := h.rng.UintN(1000000)
	b := h.rng.UintN(100000000)
	h.rngMu.Unlock()
	rrn = h.now().Format("0102") + strconv.Itoa(100000000 + int(b))[1:]
	auth = strconv.Itoa(1000000 + int(a))[1:]
	return rrn, auth
}
