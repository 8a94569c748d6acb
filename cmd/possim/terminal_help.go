package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/terminal"
)

// seedFlag is --seed: unset means fresh randomness at every run.
type seedFlag struct {
	set bool
	v   int64
}

func (s *seedFlag) String() string {
	if !s.set {
		return ""
	}
	return strconv.FormatInt(s.v, 10)
}

func (s *seedFlag) Set(v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer, got %q", v)
	}
	s.v, s.set = n, true
	return nil
}

// waitNotices tells the user at the keyboard what a terminal on real
// devices (--devices) waits for, and, when nothing comes, how to act.
type waitNotices struct {
	w     io.Writer
	dir   string
	after time.Duration

	mu      sync.Mutex
	waiting terminal.State // wait_card, wait_pin or ""
	timer   *time.Timer
}

// event follows the terminal's state and display events.
func (n *waitNotices) event(e terminal.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case e.Kind == terminal.EventState && e.State != n.waiting:
		n.stopLocked()
	case e.Kind == terminal.EventDisplay && (e.State == terminal.StateWaitCard || e.State == terminal.StateWaitPIN):
		device, hint := "cardreader", `curl -X POST -d '{"card":"visa-credit"}' http://127.0.0.1:7070/api/cardreader/insert`
		if e.State == terminal.StateWaitPIN {
			device, hint = "pinpad", `curl -X POST -d '{"pin":"1234"}' http://127.0.0.1:7070/api/pinpad/type`
		}
		fmt.Fprintf(n.w, "waiting: %s on %s\n", e.Text, filepath.Join(n.dir, device))
		if n.waiting == e.State {
			return // a new prompt of the same wait: the hint is already due
		}
		n.stopLocked()
		n.waiting = e.State
		n.timer = time.AfterFunc(n.after, func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			if n.waiting != e.State {
				return
			}
			fmt.Fprintf(n.w, "still waiting on %s: act through the control API of possim devices (the address it printed), e.g.\n  %s\nor on its dashboard at that address; Ctrl-C gives up\n",
				filepath.Join(n.dir, device), hint)
		})
	}
}

func (n *waitNotices) stopLocked() {
	if n.timer != nil {
		n.timer.Stop()
		n.timer = nil
	}
	n.waiting = ""
}

func (n *waitNotices) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopLocked()
}

// termHints says what probably happened when the host's answer points at
// the terminal's state rather than at the card.
func termHints(runErr error, f termFlags, fresh, signedOnNow bool, term *terminal.Terminal) []string {
	var de *terminal.DeclineError
	if !errors.As(runErr, &de) {
		return nil
	}
	tid := term.ID()
	switch de.Code {
	case iso.RCDuplicate:
		if fresh {
			return []string{fmt.Sprintf("the host already journaled this STAN of terminal %s today: another state file (or one since deleted) "+
				"used this terminal ID, and this one counts its STANs from 1 again. Use that state file again, or start clean "+
				"(a fresh host --db and a fresh --state); see docs/terminal.md", tid)}
		}
		return []string{fmt.Sprintf("the host already journaled this STAN of terminal %s today: is another state file in use for this terminal ID? See docs/terminal.md", tid)}
	case iso.RCIncorrectPIN:
		if f.pin == "" || signedOnNow {
			return nil
		}
		return []string{fmt.Sprintf("if the PIN is right: another state file signed terminal %s on after this one, so the host expects "+
			"that session's PIN key. Keep one state file per terminal ID, or sign on again: possim terminal --host %s --state %s signon",
			tid, f.host, f.state)}
	case iso.RCSystemError:
		if f.pin == "" || signedOnNow {
			return nil
		}
		return []string{fmt.Sprintf("the host may not know this terminal's session (was it restarted?): sign on again: possim terminal --host %s --state %s signon", f.host, f.state)}
	case acquirer.RCReplayedCryptogram:
		if f.devices != "" {
			return []string{"the host has accepted a later cryptogram of this card: possim devices starts its cards' counters again at each run; restart the host on a fresh --db (see docs/terminal.md)"}
		}
		return []string{fmt.Sprintf("the host has accepted a later cryptogram of card %s than its counter in %s (ATC %d): the state file that kept it was removed "+
			"or another one is in use. Use that state file again, or start clean (a fresh host --db and a fresh --state); see docs/terminal.md",
			f.card, f.state, term.CardATC(f.card))}
	}
	return nil
}

// termPINs reads --pin PIN[,PIN...]: one PIN per prompt.
func termPINs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// termCheckCaps checks the flags of the terminal parameters and of idle.
func termCheckCaps(cmd string, f termFlags) error {
	for i, pin := range termPINs(f.pin) {
		if len(pin) < 4 || len(pin) > 12 || strings.Trim(pin, "0123456789") != "" {
			return usageErr("--pin %q: PIN %d of the list %q: a PIN is 4 to 12 digits, several comma separated", f.pin, i+1, pin)
		}
	}
	switch {
	case f.pinTries < 0:
		return usageErr("--pin-tries %d: want 0 or more (0 or 1: no re-entry)", f.pinTries)
	case f.echoIdle < 0:
		return usageErr("--echo-idle %s: want 0 (no echo) or a positive duration, e.g. 60s", f.echoIdle)
	case cmd == "idle" && f.idleFor <= 0:
		return usageErr("idle needs --for D, how long to stay idle, e.g. --for 30s")
	case cmd != "idle" && f.idleFor != 0:
		return usageErr("--for is for the idle command, not %s", cmd)
	}
	return nil
}

// termIdle keeps the signed-on terminal connected and untouched for
// --for, its idle echo (--echo-idle) keeping the link alive; an echo not
// answered fails the command.
func termIdle(ctx context.Context, f termFlags, out *termOutput) error {
	before := out.echoes.Load()
	stopped := ""
	select {
	case <-ctx.Done():
		stopped = " (interrupted)"
	case <-time.After(f.idleFor):
	}
	n := out.echoes.Load() - before
	if f.echoIdle > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("idle for %s%s: %d echo tests sent, one after each %s idle", f.idleFor, stopped, n, f.echoIdle))
	} else {
		out.Notes = append(out.Notes, fmt.Sprintf("idle for %s%s: no echo tests (--echo-idle 0)", f.idleFor, stopped))
	}
	if out.linkDown.Load() {
		return fmt.Errorf("idle: an echo test went unanswered within --timeout %s: host link marked down", f.timeout)
	}
	return nil
}
