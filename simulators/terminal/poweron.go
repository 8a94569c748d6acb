package terminal

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/possim/possim/simulators/iso"
)

// SelfTestError lists the checks that failed at power-on.
type SelfTestError struct {
	Failed []Check
}

func (e *SelfTestError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, c := range e.Failed {
		parts[i] = c.Name + ": " + c.Detail
	}
	return "self test failed: " + strings.Join(parts, "; ")
}

// PowerOn runs the self test: the link to the host (dial and echo), the
// printer (paper, cover), the card reader, the PIN pad and the scanner.
// Failures are reported in SelfTest and as a *SelfTestError; the terminal
// still starts, degraded (a printer without paper queues receipts, a
// broken scanner means keyed entry). A sign-on saved from an earlier run
// has its PIN key loaded into the PIN pad again.
func (t *Terminal) PowerOn(ctx context.Context) (SelfTest, error) {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return SelfTest{}, err
	}
	defer end()
	defer t.ready()
	t.setState(StateSelfTest)
	t.show("SELF TEST")
	var st SelfTest
	check := func(name string, err error, okDetail string) {
		c := Check{Name: name, OK: err == nil, Detail: okDetail}
		if err != nil {
			c.Detail = err.Error()
		}
		st.Checks = append(st.Checks, c)
		t.deviceEvent(fmt.Sprintf("self test %s: %s", name, c.Detail))
	}

	check("host", t.echo(ctx), "link up, host answers")

	if t.cfg.Printer == nil {
		check("printer", errors.New("not connected"), "")
	} else if s, err := t.cfg.Printer.Status(ctx); err != nil {
		check("printer", err, "")
	} else if !s.Ready() {
		check("printer", errors.New(s.Reason()), "")
	} else if s.PaperNearEnd {
		check("printer", nil, "ready, paper near end")
	} else {
		check("printer", nil, "ready")
	}
	if t.cfg.Reader == nil {
		check("cardreader", errors.New("not connected"), "")
	} else {
		check("cardreader", t.cfg.Reader.Status(ctx), "ready")
	}
	if t.cfg.PINPad == nil {
		check("pinpad", errors.New("not connected"), "")
	} else {
		check("pinpad", t.cfg.PINPad.Status(ctx), "ready")
	}
	if t.cfg.Scanner == nil {
		check("scanner", nil, "none fitted: keyed entry only")
	} else {
		check("scanner", t.cfg.Scanner.Probe(ctx), "ready")
	}

	if t.data.SignedOn && t.data.KeyBlock != "" && t.cfg.PINPad != nil {
		if err := t.loadKey(ctx, t.data.KeyBlock); err != nil {
			t.data.SignedOn = false
			t.alert("saved PIN key not loaded, sign on again: " + err.Error())
		}
	}
	if len(t.data.Queued) > 0 {
		_ = t.flush(ctx)
	}
	t.save()
	if failed := st.Failed(); len(failed) > 0 {
		names := make([]string, len(failed))
		for i, c := range failed {
			names[i] = strings.ToUpper(c.Name)
		}
		t.show("CHECK " + strings.Join(names, ", "))
		t.alert((&SelfTestError{Failed: failed}).Error())
		return st, &SelfTestError{Failed: failed}
	}
	if t.data.SignedOn {
		t.show("READY")
	} else {
		t.show("PLEASE SIGN ON")
	}
	return st, nil
}

// networkRequest is an 0800 of this terminal with network code code
// (70), on the next STAN.
func (t *Terminal) networkRequest(code string) iso.Network {
	return iso.Network{
		MTI:            iso.MTINetworkRequest,
		TransmissionDT: t.transmissionTime(t.cfg.Now()),
		STAN:           t.nextSTAN(),
		TerminalID:     t.term.ID,
		MerchantID:     t.merchant.ID,
		NetworkCode:    code,
	}
}

// echo dials the host and sends an echo test (0800, 70=301). Any answer
// proves the link.
func (t *Terminal) echo(ctx context.Context) error {
	req := t.networkRequest(iso.NetEcho)
	msg, err := iso.NewMessage(&req)
	if err != nil {
		return err
	}
	_, _, err = t.exchange(ctx, msg)
	return err
}

// SignOn signs the terminal on (0800, 70=001, software version in 60) and
// loads the session PIN key of field 62 into the PIN pad. The terminal
// refuses to trade until this succeeds.
func (t *Terminal) SignOn(ctx context.Context) error {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer t.ready()
	t.setState(StateSigningOn)
	t.show("SIGNING ON")
	if err := t.sendReversals(ctx, t.cfg.ReversalTries); err != nil {
		t.show("REVERSAL PENDING - CHECK LINE, TRY LATER")
		return err
	}
	req := t.networkRequest(iso.NetSignOn)
	req.Reserved60 = t.cfg.Software
	msg, err := iso.NewMessage(&req)
	if err != nil {
		return fmt.Errorf("sign-on: %w", err)
	}
	raw, _, err := t.exchange(ctx, msg)
	if err != nil {
		if errors.Is(err, ErrNoResponse) {
			t.show("SIGN-ON FAILED: NO RESPONSE - TRY LATER")
		} else {
			t.show("SIGN-ON FAILED: LINK DOWN - TRY LATER")
		}
		t.save()
		return fmt.Errorf("sign-on: %w", err)
	}
	var resp iso.Network
	if err := iso.Decode(raw, &resp); err != nil {
		t.show("SIGN-ON FAILED: BAD RESPONSE")
		return fmt.Errorf("sign-on: %w", err)
	}
	if resp.ResponseCode != iso.RCApproved {
		text := iso.ResponseText(resp.ResponseCode)
		if resp.ResponseCode == iso.RCHostUnavailable {
			t.show("HOST UNAVAILABLE - TRY AGAIN LATER")
		} else {
			t.show("SIGN-ON REFUSED: " + text)
		}
		t.data.SignedOn = false
		t.save()
		return fmt.Errorf("sign-on: %w", &DeclineError{Code: resp.ResponseCode, Text: text})
	}
	if t.cfg.PINPad != nil {
		if resp.KeyData == "" {
			t.show("SIGN-ON FAILED: NO PIN KEY")
			return fmt.Errorf("sign-on: host sent no PIN key (field 62)")
		}
		if err := t.loadKey(ctx, resp.KeyData); err != nil {
			t.show("SIGN-ON FAILED: PIN KEY NOT LOADED")
			t.save()
			return fmt.Errorf("sign-on: %w", err)
		}
	}
	t.data.SignedOn = true
	t.newKey(resp.KeyData)
	t.data.SignOnDate = t.cfg.Now().Format("20060102")
	t.save()
	t.show("SIGNED ON - READY")
	return nil
}

// loadKey gives the PIN pad the session key of field 62: 32 hex digits of
// the key under the terminal master key, then the 6-digit check value.
func (t *Terminal) loadKey(ctx context.Context, f62 string) error {
	if len(f62) < 38 {
		return fmt.Errorf("field 62: want 32 hex digits of key and 6 of check value, got %d characters", len(f62))
	}
	enc, err := hex.DecodeString(f62[:32])
	if err != nil {
		return fmt.Errorf("field 62: key is not hex: %w", err)
	}
	if err := t.cfg.PINPad.LoadKey(ctx, enc, strings.ToUpper(f62[32:38])); err != nil {
		return fmt.Errorf("loading the PIN key: %w", err)
	}
	t.deviceEvent("PIN pad: session key loaded, KCV " + strings.ToUpper(f62[32:38]))
	return nil
}
