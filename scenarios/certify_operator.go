package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/possim/possim/simulators/acquirer"
)

// prompt is what the operator is asked to do on the terminal under test.
type prompt struct {
	Op     string // sale, qr, void, refund, preauth, completion, settle, signon, idle
	Amount string // major units, 12.34
	Card   string // a card alias of the profile
	Entry  string // chip, tap, swipe
	PIN    string // one PIN, or several comma separated: one per prompt
	STAN   string // the original's, for a void, refund or completion
	Code   string // a QR payment code
	// Seconds is how long the terminal stays idle (idle); EchoIdle, after
	// how many idle seconds it is set to send an echo test.
	Seconds, EchoIdle string
}

// String is the prompt as the console shows it: "SALE 12.34, card
// visa-credit by chip, PIN 1234".
func (p prompt) String() string {
	parts := []string{strings.ToUpper(p.Op)}
	if p.Amount != "" {
		parts[0] += " " + p.Amount
	}
	if p.Card != "" {
		c := "card " + p.Card
		if p.Entry != "" {
			c += " by " + p.Entry
		}
		parts = append(parts, c)
	}
	if pins := strings.Split(p.PIN, ","); len(pins) > 1 {
		parts = append(parts, "PINs "+strings.Join(pins, " then ")+", one per prompt")
	} else if p.PIN != "" {
		parts = append(parts, "PIN "+p.PIN)
	}
	if p.Seconds != "" {
		parts[0] += " " + p.Seconds + " s"
	}
	if p.EchoIdle != "" {
		parts = append(parts, "echo test after "+p.EchoIdle+" s idle")
	}
	if p.Code != "" {
		parts = append(parts, "payment code "+p.Code)
	}
	if p.STAN != "" {
		parts = append(parts, "original STAN "+p.STAN)
	}
	return strings.Join(parts, ", ")
}

// env is the prompt as the operator command's environment.
func (p prompt) env(host string) []string {
	return []string{"POSSIM_OP=" + p.Op, "POSSIM_AMOUNT=" + p.Amount, "POSSIM_CARD=" + p.Card,
		"POSSIM_ENTRY=" + p.Entry, "POSSIM_PIN=" + p.PIN, "POSSIM_STAN=" + p.STAN,
		"POSSIM_CODE=" + p.Code, "POSSIM_SECONDS=" + p.Seconds, "POSSIM_ECHO_IDLE=" + p.EchoIdle, "POSSIM_HOST=" + host}
}

// want selects the request a prompt waits for.
type want struct {
	what string // "a 0200 purchase", for messages
	ok   func(ev acquirer.Event) bool
}

// operate asks the operator for p and waits for the terminal's request w:
// with an operator command, until the command has ended and the request
// has come; at the console, until the request has come and the terminal
// has been quiet a moment. Either way no longer than the run's timeout
// for the request.
func (cc *certCase) operate(ctx context.Context, p prompt, w want) error {
	o := cc.s.opts
	mark := time.Now()
	cc.prompted = mark
	deadline := mark.Add(o.Timeout)
	fmt.Fprintf(o.Console, "OPERATOR: %s\n", p)
	if o.Operator != "" {
		out, err := cc.runOperator(ctx, p)
		status := "exit 0"
		if err != nil {
			status = err.Error()
		}
		note := fmt.Sprintf("operator command for %q: %s", p, status)
		if out != "" {
			note += "\n" + out
		}
		cc.notes = append(cc.notes, note)
	}
	for {
		if ev, ok := cc.firstSince(mark, w); ok {
			cc.last = &ev
			if o.Operator == "" {
				cc.quiet(ctx, deadline)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no message from the terminal within %d s of the prompt %q: want %s", int(o.Timeout.Seconds()), p, w.what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// quietGap is how long the wire must stay still before a console prompt
// counts as done: the terminal has had its answer and printed.
const quietGap = 2 * time.Second

func (cc *certCase) quiet(ctx context.Context, deadline time.Time) {
	for n := -1; time.Now().Before(deadline); {
		m := cc.s.log.Len()
		if m == n {
			return
		}
		n = m
		select {
		case <-ctx.Done():
			return
		case <-time.After(quietGap):
		}
	}
}

// firstSince is the first request w selects received at or after mark.
func (cc *certCase) firstSince(mark time.Time, w want) (acquirer.Event, bool) {
	for _, ev := range cc.s.log.Query(acquirer.RequestFilter{Since: mark}) {
		if ev.Dir == "in" && w.ok(ev) {
			return ev, true
		}
	}
	return acquirer.Event{}, false
}

// operatorOutputMax bounds what the report keeps of an operator
// command's output: its end, where the outcome is.
const operatorOutputMax = 2000

// runOperator runs the operator command once for p, in its own process
// group so that a command still running at the timeout is stopped with
// everything it started.
func (cc *certCase) runOperator(ctx context.Context, p prompt) (string, error) {
	o := cc.s.opts
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", o.Operator)
	cmd.Env = append(os.Environ(), p.env(cc.s.addr)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	text := out.String()
	if len(text) > operatorOutputMax {
		text = "..." + text[len(text)-operatorOutputMax:]
	}
	text = strings.TrimRight(text, "\n")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return text, fmt.Errorf("stopped after %s (--timeout)", o.Timeout)
	}
	return text, err
}
