package cardreader

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/virtualdevices/serial"
)

// maxWait bounds WAIT and REMOVE? timeouts.
const maxWait = 10 * time.Minute

// handle is the reader's serial.CommandHandler. WAIT and REMOVE? are
// answered from goroutines, so a CANCEL gets through while they wait.
func (r *Reader) handle(ctx context.Context, rs *serial.Responder, data []byte) {
	words := strings.Fields(string(data))
	if len(words) == 0 {
		rs.Reply(ctx, serial.Message{Cmd: "?", Status: swErr, Detail: "empty command"})
		return
	}
	cmd, args := words[0], words[1:]
	r.log.Debug("command", "cmd", serial.FirstWord(cmd))
	switch cmd {
	case cmdStatus:
		rs.Reply(ctx, r.status())
	case cmdWait:
		r.serveWait(ctx, rs, args)
	case cmdCancel:
		r.cancelWait(ctx, rs)
	case cmdARPC:
		rs.Reply(ctx, r.complete(args))
	case cmdRemove:
		r.serveRemove(ctx, rs, args)
	default:
		rs.Reply(ctx, serial.Message{Cmd: serial.FirstWord(cmd), Status: swErr, Detail: "unknown command"})
	}
}

func (r *Reader) status() serial.Message {
	r.mu.Lock()
	defer r.unlock()
	state := "EMPTY"
	if r.slot != nil {
		state = "PRESENT"
	}
	if r.wait != nil {
		state += " WAITING"
	}
	return serial.Message{Cmd: cmdStatus, Status: swOK, Detail: state}
}

// parseWait reads "WAIT <timeout_ms> <amount> <modes> [KEY=VALUE...]".
func (r *Reader) parseWait(args []string) (time.Duration, Modes, card.ICCRequest, error) {
	var req card.ICCRequest
	if len(args) < 3 {
		return 0, 0, req, fmt.Errorf("want WAIT <timeout_ms> <amount> <modes>")
	}
	ms, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || ms <= 0 || time.Duration(ms)*time.Millisecond > maxWait {
		return 0, 0, req, fmt.Errorf("timeout %q must be 1..%d ms", args[0], maxWait.Milliseconds())
	}
	amount, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || amount < 0 || amount > 999_999_999_999 {
		return 0, 0, req, fmt.Errorf("amount %q must be 0..999999999999 minor units", args[1])
	}
	modes, err := parseModes(args[2])
	if err != nil {
		return 0, 0, req, err
	}
	req = card.ICCRequest{Amount: amount, CountryCode: "0156", CurrencyCode: "0156", Date: time.Now().Format("060102")}
	unSet := false
	for _, kv := range args[3:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "DATE":
			if len(v) != 6 || !digits(v) {
				return 0, 0, req, fmt.Errorf("DATE %q must be YYMMDD", v)
			}
			req.Date = v
		case "CUR", "CTRY":
			if len(v) < 3 || len(v) > 4 || !digits(v) {
				return 0, 0, req, fmt.Errorf("%s %q must be a 3-digit ISO code", k, v)
			}
			if k == "CUR" {
				req.CurrencyCode = fmt.Sprintf("%04s", v)
			} else {
				req.CountryCode = fmt.Sprintf("%04s", v)
			}
		case "TYPE":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != 1 {
				return 0, 0, req, fmt.Errorf("TYPE %q must be 2 digits", v)
			}
			req.TxnType = b[0]
		case "OTHER":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || n > 999_999_999_999 {
				return 0, 0, req, fmt.Errorf("OTHER %q must be 0..999999999999", v)
			}
			req.AmountOther = n
		case "UN":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != 4 {
				return 0, 0, req, fmt.Errorf("UN %q must be 8 hex digits", v)
			}
			copy(req.UnpredictableNumber[:], b)
			unSet = true
		default:
			return 0, 0, req, fmt.Errorf("unknown parameter %q", serial.FirstWord(k))
		}
	}
	if !unSet {
		r.mu.Lock()
		u := r.rng.Uint32()
		r.mu.Unlock()
		req.UnpredictableNumber = [4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}
	}
	return time.Duration(ms) * time.Millisecond, modes, req, nil
}

func (r *Reader) serveWait(ctx context.Context, rs *serial.Responder, args []string) {
	timeout, modes, req, err := r.parseWait(args)
	if err != nil {
		rs.Reply(ctx, serial.Message{Cmd: cmdWait, Status: swErr, Detail: err.Error()})
		return
	}
	r.mu.Lock()
	if r.wait != nil {
		r.unlock()
		rs.Reply(ctx, serial.Message{Cmd: cmdWait, Status: swErr, Detail: "busy: a WAIT is already pending"})
		return
	}
	op := &waitOp{req: req, modes: modes, done: make(chan serial.Message, 1), sent: make(chan struct{})}
	r.wait = op
	r.emit("waiting", fmt.Sprintf("%s amount %d", modes, req.Amount))
	switch p := r.presented; {
	case modes&ModeChip != 0 && r.slot != nil:
		r.resolve(r.readLocked(r.slot, ModeChip, req))
	case p != nil:
		r.presented = nil
		if modes&p.mode != 0 {
			r.resolve(r.readLocked(p.card, p.mode, req))
		} else {
			r.emit("ignored", fmt.Sprintf("%s not accepted", p.mode))
		}
	}
	r.unlock()

	rs.Go(ctx, func() (serial.Message, bool) {
		defer close(op.sent)
		t := time.NewTimer(timeout)
		defer t.Stop()
		var m serial.Message
		select {
		case m = <-op.done:
		case <-t.C:
			r.mu.Lock()
			if r.wait == op {
				r.emit("timeout", "no card presented")
				r.resolve(serial.Message{Cmd: cmdWait, Status: swTimeout})
			}
			r.unlock()
			m = <-op.done
		case <-ctx.Done():
			r.mu.Lock()
			if r.wait == op {
				r.wait = nil
			}
			r.unlock()
			return serial.Message{}, false
		}
		if m.Cmd == "" {
			return m, false
		}
		// Send here rather than by returning it so that close(op.sent) follows the
		// frame: CANCEL's own answer must come after WAIT's.
		rs.Send(ctx, m)
		return m, false
	})
}

func (r *Reader) cancelWait(ctx context.Context, rs *serial.Responder) {
	var sent <-chan struct{} // nil: no WAIT pending, answer at once
	r.mu.Lock()
	if op := r.wait; op != nil {
		sent = op.sent
		r.emit("cancel", "")
		r.resolve(serial.Message{Cmd: cmdWait, Status: swCancel})
	}
	r.unlock()
	rs.ReplyAfter(ctx, sent, serial.Message{Cmd: cmdCancel, Status: swOK})
}

// complete runs the second GENERATE AC: "ARPC <arpc hex> <response code>".
func (r *Reader) complete(args []string) serial.Message {
	m := serial.Message{Cmd: cmdARPC}
	if len(args) != 2 || len(args[1]) != 2 {
		m.Status, m.Detail = swErr, "want ARPC <16 hex digits> <2-character response code>"
		return m
	}
	arpc, err := hex.DecodeString(args[0])
	if err != nil || len(arpc) != 8 {
		m.Status, m.Detail = swErr, "ARPC must be 16 hex digits"
		return m
	}
	r.mu.Lock()
	defer r.unlock()
	t := r.txn
	switch {
	case t == nil || t.done:
		m.Status, m.Detail = swErr, "no transaction to complete"
		return m
	case t.entry == EntrySwipe || t.entry == EntryFallback:
		m.Status, m.Detail = swErr, "not a chip transaction"
		return m
	case t.entry == EntryTap:
		// A contactless card has left the field: nothing to check.
		t.done = true
		m.Status, m.Detail = swOK, "SKIPPED"
		return m
	case t.pulled:
		t.done = true
		r.emit("arpc", "card removed "+card.MaskPAN(t.card.PAN))
		m.Status = swRemoved
		return m
	}
	t.done = true
	if err := card.VerifyARPC(t.sk, t.arqc, arpc, args[1]); err != nil {
		r.emit("arpc", "does not verify "+card.MaskPAN(t.card.PAN))
		m.Status, m.Detail = swFail, "AAC"
		return m
	}
	m.Status, m.Detail = swOK, "AAC"
	if approved(args[1]) {
		m.Detail = "TC"
	}
	r.emit("arpc", "verified "+m.Detail+" "+card.MaskPAN(t.card.PAN))
	return m
}

// approved reports whether a response code lets the card accept.
func approved(rc string) bool { return rc == "00" || rc == "10" || rc == "11" }

// remove answers "REMOVE? [timeout_ms]": at once, or when the card leaves.
func (r *Reader) serveRemove(ctx context.Context, rs *serial.Responder, args []string) {
	var timeout time.Duration
	if len(args) > 0 {
		ms, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxWait {
			rs.Reply(ctx, serial.Message{Cmd: cmdRemove, Status: swErr, Detail: "timeout must be 0.." + strconv.FormatInt(maxWait.Milliseconds(), 10) + " ms"})
			return
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	r.mu.Lock()
	if r.slot == nil || timeout == 0 {
		state := "EMPTY"
		if r.slot != nil {
			state = "PRESENT"
		}
		r.unlock()
		rs.Reply(ctx, serial.Message{Cmd: cmdRemove, Status: swOK, Detail: state})
		return
	}
	gone := make(chan struct{})
	r.removals = append(r.removals, gone)
	r.unlock()
	rs.Go(ctx, func() (serial.Message, bool) {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-gone:
			return serial.Message{Cmd: cmdRemove, Status: swOK, Detail: "EMPTY"}, true
		case <-t.C:
			return serial.Message{Cmd: cmdRemove, Status: swTimeout, Detail: "PRESENT"}, true
		case <-ctx.Done():
			return serial.Message{}, false
		}
	})
}
