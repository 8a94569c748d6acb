package terminal

import (
	"context"
	"fmt"
	"time"
)

// Params are the terminal parameters a terminal management system sets and
// may change on a running terminal (SetParams): PIN re-entry, the key
// change schedule and the idle echo. The zero value is a terminal that
// does none of them.
type Params struct {
	// PINTries is how many PINs the cardholder may enter in one sale: on
	// an incorrect PIN (55) the terminal asks again, with a new 0200 and a
	// new STAN, until this many were tried or the host answers anything
	// but 55 (75 when the card's PIN tries run out). 0 or 1: no re-entry,
	// the sale ends declined 55.
	PINTries int
	// KeyChangeEvery: after this many financial requests on one PIN key the
	// terminal changes it (0800, 70=101) before the next transaction.
	// 0: not by count.
	KeyChangeEvery int
	// KeyChangeInterval: a PIN key older than this is changed before the
	// next transaction. 0: not by age.
	KeyChangeInterval time.Duration
	// EchoIdle: a link idle this long (no message either way) gets an echo
	// test (0800, 70=301). An echo not answered within ResponseTimeout
	// marks the link down; the terminal hangs up and dials again before
	// the next transaction. 0: no echo, the terminal speaks only when it
	// has something to say.
	EchoIdle time.Duration
}

func (p Params) check() error {
	switch {
	case p.PINTries < 0:
		return fmt.Errorf("%w: PIN tries %d: want 0 or more", ErrBadRequest, p.PINTries)
	case p.KeyChangeEvery < 0:
		return fmt.Errorf("%w: key change every %d transactions: want 0 or more", ErrBadRequest, p.KeyChangeEvery)
	case p.KeyChangeInterval < 0:
		return fmt.Errorf("%w: key change interval %s: want 0 or more", ErrBadRequest, p.KeyChangeInterval)
	case p.EchoIdle < 0:
		return fmt.Errorf("%w: echo idle %s: want 0 or more", ErrBadRequest, p.EchoIdle)
	}
	return nil
}

// Params returns the parameters in force.
func (t *Terminal) Params() Params {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.params
}

// SetParams changes the parameters from the next transaction on (the idle
// echo from now). A bad value is refused and nothing changes.
func (t *Terminal) SetParams(p Params) error {
	if err := p.check(); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	t.mu.Lock()
	t.params = p
	start := p.EchoIdle > 0 && !t.echoRunning
	if start {
		t.echoRunning = true
	}
	t.mu.Unlock()
	select {
	case <-t.stop:
		return ErrClosed
	default:
	}
	if start {
		t.wg.Add(1)
		go t.keepAlive()
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// touch notes traffic on the host link: the idle echo counts from it.
func (t *Terminal) touch() {
	t.mu.Lock()
	t.lastTraffic = t.cfg.Now()
	t.mu.Unlock()
}

// keepAlive sends the idle echo while EchoIdle is set. It takes the
// operation slot only when free: a running transaction is traffic anyway.
func (t *Terminal) keepAlive() {
	defer t.wg.Done()
	for {
		t.mu.Lock()
		idle, last := t.params.EchoIdle, t.lastTraffic
		t.mu.Unlock()
		var (
			due   <-chan time.Time
			timer *time.Timer
		)
		if idle > 0 {
			wait := idle
			if !last.IsZero() {
				wait = last.Add(idle).Sub(t.cfg.Now())
			}
			if wait <= 0 {
				wait = time.Millisecond
			}
			timer = time.NewTimer(wait)
			due = timer.C
		}
		var stop, woken bool
		select {
		case <-t.stop:
			stop = true
		case <-t.wake:
			woken = true
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
		if stop {
			return
		}
		if woken {
			continue
		}
		t.mu.Lock()
		idle, last = t.params.EchoIdle, t.lastTraffic
		t.mu.Unlock()
		if idle <= 0 || (!last.IsZero() && t.cfg.Now().Sub(last) < idle) {
			continue
		}
		select {
		case t.op <- struct{}{}:
		default:
			t.touch() // busy: the operation's traffic counts
			continue
		}
		t.idleEcho()
		<-t.op
	}
}

// idleEcho sends the echo of an idle signed-on terminal; one not answered
// marks the link down.
func (t *Terminal) idleEcho() {
	if !t.data.SignedOn || t.linkDown {
		t.touch()
		return
	}
	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	err := t.echo(ctx)
	t.touch()
	t.save()
	if err == nil {
		return
	}
	t.hangUp()
	t.linkDown = true
	t.show("HOST LINK DOWN")
	t.alert("idle echo not answered, host link marked down: " + err.Error())
	t.deviceEvent("host link down")
}

// relink dials again before a transaction when the idle echo marked the
// link down.
func (t *Terminal) relink(ctx context.Context) error {
	if !t.linkDown {
		return nil
	}
	t.hangUp()
	if err := t.connect(ctx); err != nil {
		t.show("LINK DOWN - TRY AGAIN LATER")
		t.alert("host link still down: " + err.Error())
		return err
	}
	t.linkDown = false
	return nil
}
