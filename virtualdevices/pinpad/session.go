package pinpad

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/virtualdevices/serial"
)

// maxPINTimeout bounds the time a PIN prompt may stay up.
const maxPINTimeout = 10 * time.Minute

// handle is the pad's serial.CommandHandler. PIN is answered from a
// goroutine, so a CANCEL gets through while the prompt is up.
func (p *Pad) handle(ctx context.Context, rs *serial.Responder, data []byte) {
	text := string(data)
	cmd, rest := text, ""
	if i := strings.IndexAny(text, " \n"); i >= 0 {
		cmd, rest = text[:i], text[i+1:]
	}
	p.log.Debug("command", "cmd", serial.FirstWord(cmd))
	switch cmd {
	case cmdStatus:
		rs.Reply(ctx, p.status())
	case cmdLoadKey:
		rs.Reply(ctx, p.loadKey(strings.Fields(rest)))
	case cmdPIN:
		p.servePIN(ctx, rs, strings.Fields(rest))
	case cmdDisplay:
		p.mu.Lock()
		p.setDisplay(rest)
		p.unlock()
		rs.Reply(ctx, serial.Message{Cmd: cmdDisplay, Status: swOK})
	case cmdCancel:
		p.serveCancel(ctx, rs)
	case "":
		rs.Reply(ctx, serial.Message{Cmd: "?", Status: swErr, Detail: "empty command"})
	default:
		rs.Reply(ctx, serial.Message{Cmd: serial.FirstWord(cmd), Status: swErr, Detail: "unknown command"})
	}
}

func (p *Pad) status() serial.Message {
	p.mu.Lock()
	defer p.unlock()
	m := serial.Message{Cmd: cmdStatus, Status: swOK, Detail: "READY"}
	if p.pending != nil {
		m.Detail = "BUSY"
	}
	if p.kcv != "" {
		m.Fields = [][2]string{{"KCV", p.kcv}}
	}
	return m
}

// loadKey handles "LOADKEY <session key under master key, hex> <kcv>".
func (p *Pad) loadKey(args []string) serial.Message {
	m := serial.Message{Cmd: cmdLoadKey}
	if len(args) != 2 {
		m.Status, m.Detail = swErr, "want LOADKEY <encrypted key hex> <kcv>"
		return m
	}
	enc, err := hex.DecodeString(args[0])
	if err != nil || len(enc) != 16 {
		m.Status, m.Detail = swErr, "key must be 32 hex digits"
		return m
	}
	key, err := card.DecryptKey(p.cfg.MasterKey, enc)
	if err != nil {
		m.Status, m.Detail = swErr, "key does not decrypt"
		return m
	}
	kcv, err := card.KCV(key)
	if err != nil || !strings.EqualFold(kcv, args[1]) {
		m.Status, m.Detail = swErr, "KCV mismatch"
		p.mu.Lock()
		p.emit("key-rejected", "KCV mismatch")
		p.unlock()
		return m
	}
	p.mu.Lock()
	p.key, p.kcv = key, kcv
	p.emit("key-loaded", kcv)
	p.unlock()
	m.Status, m.Fields = swOK, [][2]string{{"KCV", kcv}}
	return m
}

// servePIN handles "PIN <pan> <amount> <timeout_ms>".
func (p *Pad) servePIN(ctx context.Context, rs *serial.Responder, args []string) {
	bad := func(reason string) { rs.Reply(ctx, serial.Message{Cmd: cmdPIN, Status: swErr, Detail: reason}) }
	if len(args) != 3 {
		bad("want PIN <pan> <amount> <timeout_ms>")
		return
	}
	pan := args[0]
	if _, err := card.PINBlock0("0000", pan); err != nil {
		bad("PAN must be 13 to 19 digits")
		return
	}
	amount, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || amount < 0 {
		bad("amount must be minor units, 0 or more")
		return
	}
	ms, err := strconv.ParseInt(args[2], 10, 64)
	if err != nil || ms <= 0 || time.Duration(ms)*time.Millisecond > maxPINTimeout {
		bad("timeout must be 1.." + strconv.FormatInt(maxPINTimeout.Milliseconds(), 10) + " ms")
		return
	}
	timeout := time.Duration(ms) * time.Millisecond

	p.mu.Lock()
	switch {
	case p.key == nil:
		p.unlock()
		rs.Reply(ctx, serial.Message{Cmd: cmdPIN, Status: swNoKey})
		return
	case p.pending != nil:
		p.unlock()
		bad("busy: a PIN prompt is already up")
		return
	}
	key := p.key
	op := &pinOp{pan: pan, amount: amount, done: make(chan keyAction, 1), sent: make(chan struct{})}
	p.pending = op
	p.setDisplay("AMOUNT " + amountText(amount) + "\nENTER PIN")
	p.emit("prompt", card.MaskPAN(pan)+" "+amountText(amount))
	if a := p.ahead; a != nil {
		p.ahead = nil
		p.finish(*a)
	}
	p.unlock()

	rs.Go(ctx, func() (serial.Message, bool) {
		defer close(op.sent)
		t := time.NewTimer(timeout)
		defer t.Stop()
		var a keyAction
		var ok bool
		select {
		case a, ok = <-op.done:
		case <-t.C:
			p.mu.Lock()
			if p.pending == op {
				p.pending = nil
				p.emit("timeout", "")
				p.setDisplay("TIMEOUT")
				p.unlock()
				rs.Send(ctx, serial.Message{Cmd: cmdPIN, Status: swTimeout})
				return serial.Message{}, false
			}
			p.unlock()
			a, ok = <-op.done
		case <-ctx.Done():
			p.mu.Lock()
			if p.pending == op {
				p.pending = nil
			}
			p.unlock()
			return serial.Message{}, false
		}
		if !ok { // broken pad: nothing goes out
			return serial.Message{}, false
		}
		if a.cancel {
			rs.Send(ctx, serial.Message{Cmd: cmdPIN, Status: swCancel})
			return serial.Message{}, false
		}
		blk, err := card.EncryptPIN(key, a.pin, pan)
		if err != nil {
			p.log.Error("building PIN block", "err", err)
			rs.Send(ctx, serial.Message{Cmd: cmdPIN, Status: swErr, Detail: "PIN block failed"})
			return serial.Message{}, false
		}
		rs.Send(ctx, serial.Message{Cmd: cmdPIN, Status: swOK, Detail: strings.ToUpper(hex.EncodeToString(blk))})
		return serial.Message{}, false
	})
}

// serveCancel handles CANCEL: a pending prompt answers CANCEL first, then
// CANCEL itself answers OK.
func (p *Pad) serveCancel(ctx context.Context, rs *serial.Responder) {
	var sent <-chan struct{} // nil: no prompt up, answer at once
	p.mu.Lock()
	if op := p.pending; op != nil {
		sent = op.sent
		p.finish(keyAction{cancel: true})
	}
	p.unlock()
	rs.ReplyAfter(ctx, sent, serial.Message{Cmd: cmdCancel, Status: swOK})
}
