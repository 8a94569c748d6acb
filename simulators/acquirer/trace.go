package acquirer

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/card"
	"github.com/possim/possim/simulators/iso"
)

// Event is one message in or out, as the trace and the harness recorder see
// it. Fields holds every present field by number, card data masked: the PAN
// as 476173******0010, fields 35, 52 and 55 as "[n bytes]", the key block
// of field 62 with only its check value.
type Event struct {
	Time     time.Time         `json:"time"`
	Dir      string            `json:"dir"` // "in" or "out"
	Remote   string            `json:"remote,omitempty"`
	MTI      string            `json:"mti"`
	RespCode string            `json:"rc,omitempty"`
	Fields   map[string]string `json:"fields"`
	Note     string            `json:"note,omitempty"` // what a fault did to it
}

// emit records m on the trace and the listeners; it costs nothing when
// there are neither.
// duplicateGap is how long after the first the duplicate answer is sent.
const duplicateGap = 20 * time.Millisecond

func (h *Host) emit(dir string, hc *hostConn, m *iso8583.Message, mti, note string) {
	var listeners []func(Event)
	if p := h.onEvent.Load(); p != nil {
		listeners = *p
	}
	if h.cfg.Trace == nil && len(listeners) == 0 {
		return
	}
	ev := Event{Time: h.now(), Dir: dir, MTI: mti, Fields: iso.MaskFields(m), Note: note}
	if hc != nil {
		ev.Remote = hc.remote
	}
	ev.RespCode = ev.Fields["39"]
	for _, f := range listeners {
		f(ev)
	}
	if h.cfg.Trace != nil {
		b, err := json.Marshal(ev)
		if err != nil {
			return
		}
		b = append(b, '\n')
		h.traceMu.Lock()
		h.cfg.Trace.Write(b)
		h.traceMu.Unlock()
	}
}

// logDecision writes one debug line per answer (possim host -v): what was
// asked, of which card (masked), and what was answered and why.
func (h *Host) logDecision(hc *hostConn, r *req, resp *iso8583.Message, p *Fault) {
	code, _ := resp.GetString(39)
	why := r.why
	switch {
	case why != "":
	case p != nil:
		why = "fault " + p.Action
		if p.Name != "" {
			why += " (" + p.Name + ")"
		}
	default:
		why = strings.ToLower(iso.ResponseText(code))
	}
	pan := r.pan
	if pan == "" && strings.HasPrefix(r.entry, iso.EntryQR) {
		pan = strings.TrimSpace(r.f48)
	}
	if pan != "" {
		pan = card.MaskPAN(pan)
	}
	h.log.Debug("decision", "remote", hc.remote, "mti", r.mti, "tid", r.tid, "stan", r.stan, "proc", r.proc,
		"pan", pan, "amount", r.amountStr, "rc", code, "why", why)
}

// reply sends resp on hc and records it.
func (h *Host) reply(hc *hostConn, env iso.Envelope, resp *iso8583.Message, note string) {
	mti, _ := resp.GetMTI()
	code, _ := resp.GetString(39)
	// Recorded before it is written, so whoever reads the answer finds it
	// on the trace already.
	h.emit("out", hc, resp, mti, note)
	if err := hc.writeMessage(resp, env); err != nil {
		h.warn.Warn("send", "sending response failed", "remote", hc.remote, "mti", mti, "err", err)
		return
	}
	h.countOut(mti, code)
}

// send delivers the response, bent by the fault p if it is a wire fault.
func (h *Host) send(hc *hostConn, r *req, resp *iso8583.Message, p *Fault) {
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		h.logDecision(hc, r, resp, p)
	}
	if p == nil {
		h.reply(hc, r.env, resp, "")
		return
	}
	if p.Delay > 0 {
		t := time.NewTimer(p.Delay)
		select {
		case <-t.C:
		case <-h.done:
			t.Stop()
			return
		}
	}
	note := p.wireNote()
	switch p.Action {
	case ActDrop:
		h.emit("out", hc, resp, iso.ResponseMTI(r.mti), note+": not sent")
		return
	case ActClose:
		h.emit("out", hc, resp, iso.ResponseMTI(r.mti), note+": not sent, connection closed")
		hc.close()
		return
	case ActReset:
		h.emit("out", hc, resp, iso.ResponseMTI(r.mti), note+": not sent, connection reset")
		hc.reset()
		return
	case ActAmount:
		resp.Field(4, amount12(p.Amount))
	case ActWrongSTAN:
		stan, _ := resp.GetString(11)
		n, _ := strconv.Atoi(stan)
		resp.Field(11, amount12(int64(n+1) % 1000000)[6:])
	case ActGarble:
		packed, err := resp.Pack()
		if err != nil || len(packed) < 8 {
			return
		}
		for i := 4; i < len(packed) && i < 20; i++ {
			packed[i] = 'Z' // a bitmap that is not hex: the terminal cannot unpack it
		}
		h.emit("out", hc, resp, iso.ResponseMTI(r.mti), note)
		if err := hc.writePacked(packed, r.env); err != nil {
			h.log.Warn("sending garbled response failed", "remote", hc.remote, "err", err)
		}
		return
	case ActDuplicate:
		h.reply(hc, r.env, resp, note+" (first)")
		// The copy follows a moment later, as a retransmitted answer does;
		// in virtual time that also fixes the order of the two on the
		// timeline.
		t := time.NewTimer(duplicateGap)
		select {
		case <-t.C:
		case <-h.done:
			t.Stop()
			return
		}
		note += " (second)"
	}
	h.reply(hc, r.env, resp, note)
}
