package terminal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/possim/possim/card"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/virtualdevices/cardreader"
)

// DeclineError is a host decline; errors.Is(err, ErrDeclined) is true.
type DeclineError struct {
	Code string // field 39
	Text string // iso.ResponseText(Code)
}

func (e *DeclineError) Error() string { return fmt.Sprintf("declined %s: %s", e.Code, e.Text) }

// Is makes errors.Is(err, ErrDeclined) true.
func (e *DeclineError) Is(target error) bool { return target == ErrDeclined }

// Reversal reason codes carried in field 39 of a 0400.
const (
	reverseNoAnswer = "98" // no answer from the host in time
	reverseTerminal = "06" // the terminal refused the approval (amount, card)
)

// authorise sends a financial or authorisation request and applies a real
// terminal's rules to what comes back (or does not).
func (t *Terminal) authorise(ctx context.Context, x *Txn, req iso.Financial, rd *cardreader.Read, acceptPartial bool) (*Txn, error) {
	t.setState(StateOnline)
	t.show("PROCESSING - PLEASE WAIT")
	msg, err := iso.NewMessage(&req)
	if err != nil {
		return t.failed(x, fmt.Errorf("building %s: %w", req.MTI, err))
	}
	raw, sent, err := t.exchange(ctx, msg)
	if err != nil {
		if !sent {
			if errors.Is(err, ErrLinkDown) {
				t.show("LINK DOWN - TRY AGAIN LATER")
				t.alert("host link down: " + err.Error())
			} else {
				t.show("SEND FAILED")
			}
			return t.failed(x, err)
		}
		if raw == nil {
			// No answer (or the link broke after sending): the host may
			// have approved it, so it is reversed.
			t.show("NO RESPONSE - TRANSACTION REVERSED")
			t.alert(fmt.Sprintf("no response to %s STAN %s: reversal queued", x.MTI, x.STAN))
			return t.reverse(ctx, x, reverseNoAnswer, "no response from host", err)
		}
		// Wrong answer MTI: treat as no answer.
		t.show("BAD RESPONSE - TRANSACTION REVERSED")
		return t.reverse(ctx, x, reverseNoAnswer, "bad response from host", err)
	}
	var resp iso.Financial
	if err := iso.Decode(raw, &resp); err != nil || len(resp.ResponseCode) != 2 {
		if err == nil {
			err = errors.New("answer without a response code (field 39)")
		}
		t.show("BAD RESPONSE - TRANSACTION REVERSED")
		return t.reverse(ctx, x, reverseNoAnswer, "unreadable response", err)
	}
	x.ResponseCode = resp.ResponseCode
	x.ResponseText = iso.ResponseText(resp.ResponseCode)
	// An advice answer carries no RRN or code: the original's stay.
	if resp.RRN != "" {
		x.RRN = resp.RRN
	}
	if resp.AuthCode != "" {
		x.AuthCode = resp.AuthCode
	}
	x.Settlement = settlementOf(resp.Private63)
	arpc, arc := issuerAuth(resp.ICC, resp.ResponseCode)

	if resp.ResponseCode != iso.RCApproved && resp.ResponseCode != iso.RCPartialApproval {
		if rd != nil && arpc != nil {
			// The card learns of the decline too; its answer changes nothing.
			_ = t.cfg.Reader.Complete(ctx, arpc, arc)
		}
		return t.declined(x, resp.ResponseCode)
	}

	approved := x.Requested
	if resp.Amount != "" {
		if v, err := strconv.ParseInt(resp.Amount, 10, 64); err == nil {
			approved = v
		}
	}
	if resp.ResponseCode == iso.RCPartialApproval || resp.AdditionalAmts != "" {
		part, ok := partialAmount(resp.AdditionalAmts)
		if !ok {
			part = approved
		}
		if part != x.Requested {
			if !acceptPartial {
				t.show(fmt.Sprintf("PARTIAL APPROVAL %s NOT ACCEPTED - REVERSED", money.Format(part)))
				t.alert(fmt.Sprintf("amount mismatch: partial approval of %s for %s (STAN %s) not accepted, reversed",
					money.Format(part), money.Format(x.Requested), x.STAN))
				return t.reverse(ctx, x, reverseTerminal, "partial approval not accepted", ErrAmountMismatch)
			}
			x.Partial = true
			approved = part
		}
	} else if approved != x.Requested {
		t.show("AMOUNT MISMATCH - TRANSACTION REVERSED")
		t.alert(fmt.Sprintf("amount mismatch: host approved %s for %s (STAN %s), reversed",
			money.Format(approved), money.Format(x.Requested), x.STAN))
		return t.reverse(ctx, x, reverseTerminal, "amount mismatch", ErrAmountMismatch)
	}
	x.Amount = approved

	if rd != nil && (rd.Entry == cardreader.EntryChip || rd.Entry == cardreader.EntryTap) && arpc != nil {
		if err := t.cfg.Reader.Complete(ctx, arpc, arc); err != nil {
			reason := "card declined after host approval"
			if errors.Is(err, cardreader.ErrCardRemoved) {
				reason = "card removed before completion"
			}
			t.show(strings.ToUpper(reason) + " - REVERSED")
			t.alert(fmt.Sprintf("%s (STAN %s): reversed", reason, x.STAN))
			return t.reverse(ctx, x, reverseTerminal, reason, fmt.Errorf("%w: %w", ErrCancelled, err))
		}
	}

	x.Status = StatusApproved
	if x.Partial {
		t.show(fmt.Sprintf("PARTIAL APPROVAL %s - COLLECT %s", money.Format(x.Amount), money.Format(x.Requested-x.Amount)))
	} else {
		text := fmt.Sprintf("APPROVED %s %s", t.cfg.Profile.Currency, money.FormatGrouped(x.Amount))
		if x.AuthCode != "" {
			text += "  AUTH " + x.AuthCode
		}
		t.show(text)
	}
	t.record(x)
	t.printTxn(ctx, x)
	return x, nil
}

func (t *Terminal) declined(x *Txn, code string) (*Txn, error) {
	x.Status = StatusDeclined
	x.Reason = iso.ResponseText(code)
	switch code {
	case iso.RCHostUnavailable:
		t.show("HOST UNAVAILABLE - TRY AGAIN LATER")
	case iso.RCIncorrectPIN:
		t.show("INCORRECT PIN - TRY AGAIN")
	default:
		t.show("DECLINED " + code + ": " + x.Reason)
	}
	t.record(x)
	return x, &DeclineError{Code: code, Text: x.Reason}
}

// settlementOf reads the host's settlement signal in field 63.
func settlementOf(f63 string) string {
	switch {
	case strings.HasPrefix(f63, "D0"):
		return "D0"
	case strings.HasPrefix(f63, "T1"):
		return "T1"
	}
	return ""
}

// issuerAuth returns the ARPC and ARC of tag 91 in field 55 (nil when
// absent; the ARC then defaults to rc, field 39).
func issuerAuth(icc []byte, rc string) (arpc []byte, arc string) {
	if len(icc) == 0 {
		return nil, rc
	}
	tlv, err := card.ParseTLV(icc)
	if err != nil {
		return nil, rc
	}
	v, ok := card.FindTag(tlv, card.TagIssuerAuthData)
	if !ok || len(v) < 8 {
		return nil, rc
	}
	// Tag 91 is ARPC || ARC: the card checks the ARPC against the ARC the
	// issuer signed, which is not always field 39 (a partial approval is
	// 39=10 with ARC 00).
	if len(v) >= 10 {
		return v[:8], string(v[8:10])
	}
	return v[:8], rc
}

// partialAmount reads the approved amount of field 54: 12 digits, or the
// ISO form (account type 2, amount type 2, currency 3, sign 1, amount 12).
func partialAmount(f54 string) (int64, bool) {
	s := strings.TrimSpace(f54)
	switch {
	case len(s) >= 20:
		s = s[8:20]
	case len(s) > 12:
		s = s[len(s)-12:]
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// reverse queues a reversal of x, tries to send it at once, and returns x
// as reversed with cause.
func (t *Terminal) reverse(ctx context.Context, x *Txn, code, reason string, cause error) (*Txn, error) {
	x.Status = StatusReversed
	x.Reason = reason
	r := Reversal{
		OrigMTI:   x.MTI,
		OrigSTAN:  x.STAN,
		OrigF7:    x.F7,
		ProcCode:  x.ProcCode,
		Amount:    x.Requested,
		EntryMode: x.EntryMode,
		PANSeq:    x.PANSeq,
		MaskedPAN: x.MaskedPAN,
		Code:      code,
		Reason:    reason,
		Created:   t.cfg.Now(),
		pan:       x.pan,
		expiry:    x.expiry,
	}
	r.STAN = t.nextSTAN()
	t.data.Reversals = append(t.data.Reversals, r)
	t.record(x)
	if err := t.sendReversals(ctx, 1); err != nil {
		t.show("REVERSAL PENDING - WILL RETRY")
	}
	return x, fmt.Errorf("%s STAN %s reversed: %s: %w", x.MTI, x.STAN, reason, cause)
}

// sendReversals sends every pending reversal, each up to tries times
// (0400 first, 0401 after), and returns ErrReversalPending if one is
// still unanswered.
func (t *Terminal) sendReversals(ctx context.Context, tries int) error {
	if len(t.data.Reversals) == 0 {
		return nil
	}
	prev := t.State()
	t.setState(StateReversal)
	defer t.setState(prev)
	for len(t.data.Reversals) > 0 {
		r := &t.data.Reversals[0]
		done := false
		var last error
		for try := 0; try < tries && !done; try++ {
			done, last = t.sendReversal(ctx, r)
			t.save()
			if errors.Is(last, ErrLinkDown) && !errors.Is(last, ErrNoResponse) {
				break
			}
		}
		if !done {
			return fmt.Errorf("%w: STAN %s (of %s), %d attempts: %w", ErrReversalPending, r.STAN, r.OrigSTAN, r.Attempts, last)
		}
		t.data.Reversals = t.data.Reversals[1:]
		t.save()
	}
	return nil
}

func (t *Terminal) sendReversal(ctx context.Context, r *Reversal) (bool, error) {
	mti := iso.MTIReversal
	if r.Attempts > 0 {
		mti = iso.MTIReversalRepeat
	}
	now := t.cfg.Now()
	req := iso.Financial{
		MTI:            mti,
		PAN:            r.pan,
		ProcessingCode: r.ProcCode,
		Amount:         fmt.Sprintf("%012d", r.Amount),
		TransmissionDT: t.transmissionTime(now),
		STAN:           r.STAN,
		LocalTime:      now.Format("150405"),
		LocalDate:      now.Format("0102"),
		Expiry:         r.expiry,
		EntryMode:      r.EntryMode,
		CardSeq:        r.PANSeq,
		ConditionCode:  "00",
		ResponseCode:   r.Code,
		TerminalID:     t.term.ID,
		MerchantID:     t.merchant.ID,
		Currency:       t.cfg.Profile.CurrencyCode,
		Reserved60:     fmt.Sprintf("%06d%s", t.data.Batch, t.cfg.Software),
		OriginalData:   iso.OriginalData(r.OrigMTI, r.OrigSTAN, r.OrigF7),
	}
	msg, err := iso.NewMessage(&req)
	if err != nil {
		return false, fmt.Errorf("building reversal: %w", err)
	}
	r.Attempts++
	raw, _, err := t.exchange(ctx, msg)
	if err != nil {
		t.alert(fmt.Sprintf("reversal %s of STAN %s not answered (attempt %d): %v", mti, r.OrigSTAN, r.Attempts, err))
		return false, err
	}
	code, _ := raw.GetString(39)
	switch code {
	case iso.RCHostUnavailable, iso.RCSystemError:
		t.alert(fmt.Sprintf("reversal of STAN %s refused %s (%s), will repeat", r.OrigSTAN, code, iso.ResponseText(code)))
		return false, fmt.Errorf("reversal answered %s", code)
	}
	// Any other answer closes it: 00 reversed, 25 the host never had the
	// original, 94 it already had this reversal.
	t.deviceEvent(fmt.Sprintf("reversal of STAN %s answered %s (%s)", r.OrigSTAN, code, iso.ResponseText(code)))
	return true, nil
}

// PendingReversals lists the reversals the host has not acknowledged.
func (t *Terminal) PendingReversals() []Reversal {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Reversal(nil), t.snap.Reversals...)
}
