package pinpad

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/virtualdevices/serial"
)

// maxPINTimeout bounds the time a PIN prompt may stay up.
const maxPINTimeout = 10 * time.Minute

// session is one link's conversation with the pad.
type session struct {
	p       *Pad
	link    *serial.FrameLink
	sendSem chan struct{} // one frame at a time; a channel so waiting stays durable in synctest
	wg      sync.WaitGroup
}

func (s *session) send(ctx context.Context, m message) {
	select {
	case s.sendSem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.sendSem }()
	s.p.log.Debug("response", "cmd", m.Cmd, "sw", m.SW)
	if err := s.link.Send(ctx, m.encode()); err != nil && ctx.Err() == nil {
		s.p.log.Warn("sending response", "cmd", m.Cmd, "err", err)
	}
}

// goSend answers from a goroutine so the receive loop keeps reading (a
// CANCEL must get through while a PIN prompt is up).
func (s *session) goSend(ctx context.Context, f func() (message, bool)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if m, ok := f(); ok {
			s.send(ctx, m)
		}
	}()
}

func (s *session) reply(ctx context.Context, m message) {
	s.goSend(ctx, func() (message, bool) { return m, true })
}

func (s *session) handle(ctx context.Context, data []byte) {
	text := string(data)
	cmd, rest := text, ""
	if i := strings.IndexAny(text, " \n"); i >= 0 {
		cmd, rest = text[:i], text[i+1:]
	}
	s.p.log.Debug("command", "cmd", firstWords(cmd))
	switch cmd {
	case cmdStatus:
		s.reply(ctx, s.p.status())
	case cmdLoadKey:
		s.reply(ctx, s.p.loadKey(strings.Fields(rest)))
	case cmdPIN:
		s.pin(ctx, strings.Fields(rest))
	case cmdDisplay:
		s.p.mu.Lock()
		s.p.setDisplay(rest)
		s.p.unlock()
		s.reply(ctx, message{Cmd: cmdDisplay, SW: swOK})
	case cmdCancel:
		s.cancel(ctx)
	case "":
		s.reply(ctx, message{Cmd: "?", SW: swErr, Detail: "empty command"})
	default:
		s.reply(ctx, message{Cmd: firstWords(cmd), SW: swErr, Detail: "unknown command"})
	}
}

func (p *Pad) status() message {
	p.mu.Lock()
	defer p.unlock()
	m := message{Cmd: cmdStatus, SW: swOK, Detail: "READY"}
	if p.pending != nil {
		m.Detail = "BUSY"
	}
	if p.kcv != "" {
		m.Fields = [][2]string{{"KCV", p.kcv}}
	}
	return m
}

// loadKey handles "LOADKEY <session key under master key, hex> <kcv>".
func (p *Pad) loadKey(args []string) message {
	m := message{Cmd: cmdLoadKey}
	if len(args) != 2 {
		m.SW, m.Detail = swErr, "want LOADKEY <encrypted key hex> <kcv>"
		return m
	}
	enc, err := hex.DecodeString(args[0])
	if err != nil || len(enc) != 16 {
		m.SW, m.Detail = swErr, "key must be 32 hex digits"
		return m
	}
	key, err := card.DecryptKey(p.cfg.MasterKey, enc)
	if err != nil {
		m.SW, m.Detail = swErr, "key does not decrypt"
		return m
	}
	kcv, err := card.KCV(key)
	if err != nil || !strings.EqualFold(kcv, args[1]) {
		m.SW, m.Detail = swErr, "KCV mismatch"
		p.mu.Lock()
		p.emit("key-rejected", "KCV mismatch")
		p.unlock()
		return m
	}
	p.mu.Lock()
	p.key, p.kcv = key, kcv
	p.emit("key-loaded", kcv)
	p.unlock()
	m.SW, m.Fields = swOK, [][2]string{{"KCV", kcv}}
	return m
}

// pin handles "PIN <pan> <amount> <timeout_ms>".
func (s *session) pin(ctx context.Context, args []string) {
	p := s.p
	bad := func(reason string) { s.reply(ctx, message{Cmd: cmdPIN, SW: swErr, Detail: reason}) }
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
		s.reply(ctx, message{Cmd: cmdPIN, SW: swNoKey})
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

	s.goSend(ctx, func() (message, bool) {
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
				s.send(ctx, message{Cmd: cmdPIN, SW: swTimeout})
				return message{}, false
			}
			p.unlock()
			a, ok = <-op.done
		case <-ctx.Done():
			p.mu.Lock()
			if p.pending == op {
				p.pending = nil
			}
			p.unlock()
			return message{}, false
		}
		if !ok { // broken pad: nothing goes out
			return message{}, false
		}
		if a.cancel {
			s.send(ctx, message{Cmd: cmdPIN, SW: swCancel})
			return message{}, false
		}
		blk, err := card.EncryptPIN(key, a.pin, pan)
		if err != nil {
			p.log.Error("building PIN block", "err", err)
			s.send(ctx, message{Cmd: cmdPIN, SW: swErr, Detail: "PIN block failed"})
			return message{}, false
		}
		s.send(ctx, message{Cmd: cmdPIN, SW: swOK, Detail: strings.ToUpper(hex.EncodeToString(blk))})
		return message{}, false
	})
}

// cancel handles CANCEL: a pending prompt answers CANCEL first, then
// CANCEL itself answers OK.
func (s *session) cancel(ctx context.Context) {
	p := s.p
	p.mu.Lock()
	op := p.pending
	if op != nil {
		p.finish(keyAction{cancel: true})
	}
	p.unlock()
	s.goSend(ctx, func() (message, bool) {
		if op != nil {
			select {
			case <-op.sent:
			case <-ctx.Done():
				return message{}, false
			}
		}
		return message{Cmd: cmdCancel, SW: swOK}, true
	})
}
