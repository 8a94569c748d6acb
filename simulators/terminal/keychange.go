package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"

	"github.com/possim/possim/simulators/iso"
)

// keyChangeFlag is positions 1-2 of field 53 in an answer that asks for
// a new PIN working key (see the host's KeyChangeRequired).
const keyChangeFlag = "01"

// noteKeyChange reads the host's key change request in field 53 of the
// answer to a financial request or an echo.
func (t *Terminal) noteKeyChange(reqMTI string, resp *iso8583.Message) {
	switch reqMTI {
	case iso.MTIAuthRequest, iso.MTIFinancialRequest:
		t.data.KeyUses++
	case iso.MTINetworkRequest:
	default:
		return
	}
	f53, _ := resp.GetString(53)
	if strings.HasPrefix(f53, keyChangeFlag) && !t.data.KeyChangeDue {
		t.data.KeyChangeDue = true
		t.deviceEvent("host asks for a PIN key change (field 53)")
	}
}

// keyChangeReason says why the PIN key is to be changed now, or "".
func (t *Terminal) keyChangeReason() string {
	p := t.Params()
	switch {
	case t.cfg.PINPad == nil:
		return ""
	case t.data.KeyChangeDue:
		return "host asked"
	case p.KeyChangeEvery > 0 && t.data.KeyUses >= p.KeyChangeEvery:
		return fmt.Sprintf("%d transactions on this key", t.data.KeyUses)
	case p.KeyChangeInterval > 0 && !t.data.KeyTime.IsZero() && t.cfg.Now().Sub(t.data.KeyTime) >= p.KeyChangeInterval:
		return fmt.Sprintf("key older than %s", p.KeyChangeInterval)
	}
	return ""
}

// maintainKey changes the PIN key before a transaction when it is due. A
// key change that fails stops the transaction before it takes a STAN: the
// host may have handed out a key the terminal never got, and a PIN sent
// under the old one would spend one of the card's PIN tries. It is tried
// again before the next transaction.
func (t *Terminal) maintainKey(ctx context.Context) error {
	why := t.keyChangeReason()
	if why == "" {
		return nil
	}
	if err := t.changeKey(ctx, why); err != nil {
		t.show("KEY CHANGE FAILED - TRY AGAIN")
		t.alert("PIN key change failed, transaction not started: " + err.Error())
		return err
	}
	return nil
}

// ChangeKey sends a key change (0800, 70=101) now and loads the new PIN
// key of field 62 into the PIN pad, as a sign-on does.
func (t *Terminal) ChangeKey(ctx context.Context) error {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer t.ready()
	if !t.data.SignedOn {
		t.show("PLEASE SIGN ON")
		return ErrNotSignedOn
	}
	return t.changeKey(ctx, "operator")
}

func (t *Terminal) changeKey(ctx context.Context, why string) error {
	prev := t.State()
	t.setState(StateSigningOn)
	defer t.setState(prev)
	t.show("KEY EXCHANGE - PLEASE WAIT")
	t.deviceEvent("PIN key change: " + why)
	req := t.networkRequest(iso.NetKeyChange)
	msg, err := iso.NewMessage(&req)
	if err != nil {
		return fmt.Errorf("key change: %w", err)
	}
	raw, _, err := t.exchange(ctx, msg)
	t.save()
	if err != nil {
		return fmt.Errorf("key change: %w", err)
	}
	var resp iso.Network
	if err := iso.Decode(raw, &resp); err != nil {
		return fmt.Errorf("key change: %w", err)
	}
	if resp.ResponseCode != iso.RCApproved {
		return fmt.Errorf("key change: %w", &DeclineError{Code: resp.ResponseCode, Text: iso.ResponseText(resp.ResponseCode)})
	}
	if resp.KeyData == "" {
		return errors.New("key change: host sent no PIN key (field 62)")
	}
	if err := t.loadKey(ctx, resp.KeyData); err != nil {
		return fmt.Errorf("key change: %w", err)
	}
	t.newKey(resp.KeyData)
	t.save()
	t.show("KEY CHANGED - READY")
	return nil
}

// newKey notes a PIN key just loaded (sign-on or key change).
func (t *Terminal) newKey(block string) {
	t.data.KeyBlock = block
	t.data.KeyTime = t.cfg.Now()
	t.data.KeyUses = 0
	t.data.KeyChangeDue = false
}
