package terminal

import (
	"context"
	"errors"
	"fmt"

	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/iso"
)

// Totals returns the open batch's totals: approved sales, QR sales and
// completions (not voided) as sales; approved refunds as refunds.
func (t *Terminal) Totals() Totals {
	t.mu.Lock()
	defer t.mu.Unlock()
	return totals(t.snap.Log, t.snap.Batch)
}

func totals(log []Txn, batch int) Totals {
	var s Totals
	for _, x := range batchTxns(log, batch) {
		if x.Kind == KindRefund {
			s.RefundsCount++
			s.RefundsAmount += x.Amount
		} else {
			s.SalesCount++
			s.SalesAmount += x.Amount
		}
	}
	return s
}

// batchTxns lists what the batch totals count, in log order.
func batchTxns(log []Txn, batch int) []Txn {
	var out []Txn
	for _, x := range log {
		if x.Batch != batch || x.Status != StatusApproved {
			continue
		}
		switch x.Kind {
		case KindSale, KindQR, KindCompletion, KindRefund:
			out = append(out, x)
		}
	}
	return out
}

// Settle closes the batch: a 0500 with the totals; if the host answers 95
// (out of balance) every transaction of the batch is uploaded (0320) and a
// closing 0500 is sent. The batch closes, and its number goes up, only
// when the host agrees; otherwise the error is ErrOutOfBalance.
func (t *Terminal) Settle(ctx context.Context) (SettleResult, error) {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return SettleResult{}, err
	}
	defer end()
	defer t.ready()
	if err := t.prepare(ctx); err != nil {
		return SettleResult{}, err
	}
	t.setState(StateSettling)
	tot := totals(t.data.Log, t.data.Batch)
	res := SettleResult{Batch: t.data.Batch, Totals: tot, NextBatch: t.data.Batch}
	t.show(fmt.Sprintf("SETTLING BATCH %06d: %d SALES %s, %d REFUNDS %s", t.data.Batch,
		tot.SalesCount, money.FormatGrouped(tot.SalesAmount), tot.RefundsCount, money.FormatGrouped(tot.RefundsAmount)))
	code, err := t.reconcile(ctx, tot)
	if err != nil {
		return res, err
	}
	if code == iso.RCReconcileError {
		t.alert(fmt.Sprintf("batch %06d out of balance with the host: uploading transactions", t.data.Batch))
		t.setState(StateBatchUpload)
		n, err := t.upload(ctx)
		res.Uploaded = n
		if err != nil {
			t.show("BATCH UPLOAD FAILED - SETTLE AGAIN")
			return res, err
		}
		t.setState(StateSettling)
		if code, err = t.reconcile(ctx, tot); err != nil {
			return res, err
		}
	}
	res.ResponseCode = code
	res.Time = t.cfg.Now()
	switch code {
	case iso.RCApproved:
	case iso.RCReconcileError:
		t.show("BATCH OUT OF BALANCE - CALL THE ACQUIRER")
		t.alert(fmt.Sprintf("batch %06d still out of balance after upload", t.data.Batch))
		return res, fmt.Errorf("%w: batch %06d", ErrOutOfBalance, t.data.Batch)
	default:
		t.show("SETTLEMENT REFUSED: " + iso.ResponseText(code))
		return res, fmt.Errorf("settlement: %w", &DeclineError{Code: code, Text: iso.ResponseText(code)})
	}
	res.Balanced = true
	t.data.Batch = t.data.Batch%999999 + 1
	res.NextBatch = t.data.Batch
	t.data.Settled = append(t.data.Settled, res)
	if len(t.data.Settled) > 100 {
		t.data.Settled = t.data.Settled[1:]
	}
	t.printSettlement(ctx, res)
	t.save()
	t.show(fmt.Sprintf("SETTLED BATCH %06d - BALANCED", res.Batch))
	return res, nil
}

// reconcile sends one 0500 and returns the host's code.
func (t *Terminal) reconcile(ctx context.Context, tot Totals) (string, error) {
	req := iso.Reconcile{
		MTI:            iso.MTIReconcile,
		TransmissionDT: t.transmissionTime(t.cfg.Now()),
		STAN:           t.nextSTAN(),
		TerminalID:     t.term.ID,
		MerchantID:     t.merchant.ID,
		Currency:       t.cfg.Profile.CurrencyCode,
		Batch:          fmt.Sprintf("%06d", t.data.Batch),
		CreditsNumber:  tot.SalesCount,
		CreditsAmount:  tot.SalesAmount,
		DebitsNumber:   tot.RefundsCount,
		DebitsAmount:   tot.RefundsAmount,
	}
	msg, err := iso.NewMessage(&req)
	if err != nil {
		return "", fmt.Errorf("settlement: %w", err)
	}
	raw, _, err := t.exchange(ctx, msg)
	t.save()
	if err != nil {
		if errors.Is(err, ErrNoResponse) {
			t.show("SETTLEMENT: NO RESPONSE - TRY AGAIN")
		} else {
			t.show("SETTLEMENT: LINK DOWN - TRY AGAIN LATER")
		}
		return "", fmt.Errorf("settlement: %w", err)
	}
	code, _ := raw.GetString(39)
	return code, nil
}

// upload sends a 0320 for every transaction of the batch.
func (t *Terminal) upload(ctx context.Context) (int, error) {
	n := 0
	for _, x := range batchTxns(t.data.Log, t.data.Batch) {
		now := t.cfg.Now()
		req := iso.Financial{
			MTI:            iso.MTIBatchUpload,
			PAN:            x.pan,
			ProcessingCode: x.ProcCode,
			Amount:         fmt.Sprintf("%012d", x.Amount),
			TransmissionDT: t.transmissionTime(now),
			STAN:           t.nextSTAN(),
			LocalTime:      x.Time.Format("150405"),
			LocalDate:      x.Time.Format("0102"),
			Expiry:         x.expiry,
			EntryMode:      x.EntryMode,
			CardSeq:        x.PANSeq,
			ConditionCode:  "00",
			RRN:            x.RRN,
			AuthCode:       x.AuthCode,
			ResponseCode:   x.ResponseCode,
			TerminalID:     t.term.ID,
			MerchantID:     t.merchant.ID,
			Currency:       t.cfg.Profile.CurrencyCode,
			Reserved60:     fmt.Sprintf("%06d%s", t.data.Batch, t.cfg.Software),
			OriginalData:   iso.OriginalData(x.MTI, x.STAN, x.F7),
		}
		msg, err := iso.NewMessage(&req)
		if err != nil {
			return n, fmt.Errorf("batch upload: %w", err)
		}
		t.show(fmt.Sprintf("UPLOADING %d - STAN %s", n+1, x.STAN))
		raw, _, err := t.exchange(ctx, msg)
		if err != nil {
			t.save()
			return n, fmt.Errorf("batch upload of STAN %s: %w", x.STAN, err)
		}
		if code, _ := raw.GetString(39); code != iso.RCApproved {
			t.alert(fmt.Sprintf("batch upload of STAN %s answered %s (%s)", x.STAN, code, iso.ResponseText(code)))
		}
		n++
	}
	t.save()
	return n, nil
}

// printSettlement prints the settlement summary (queued if the printer is
// not ready).
func (t *Terminal) printSettlement(ctx context.Context, r SettleResult) {
	w, _ := t.words()
	title := "SETTLEMENT"
	if w.zh {
		title = "结算单"
	}
	ls := []line{
		{text: t.merchant.Name, center: true, bold: true, big: true},
		{text: title, center: true, bold: true},
		{text: pair(w.merchantNo+":", t.merchant.ID)},
		{text: pair(w.terminalNo+":", t.term.ID)},
		{text: pair(w.batch+":", fmt.Sprintf("%06d", r.Batch))},
		{text: pair(w.dateTime+":", r.Time.Format("2006/01/02 15:04:05"))},
		{text: pair(fmt.Sprintf("%s x%d", w.kinds[KindSale], r.Totals.SalesCount), money.FormatGrouped(r.Totals.SalesAmount))},
		{text: pair(fmt.Sprintf("%s x%d", w.kinds[KindRefund], r.Totals.RefundsCount), money.FormatGrouped(r.Totals.RefundsAmount))},
		{text: pair(w.result+":", map[bool]string{false: "BALANCED", true: "对账平"}[w.zh])},
	}
	data, text := t.render(ls)
	t.print(ctx, []QueuedReceipt{{STAN: fmt.Sprintf("B%06d", r.Batch), Copy: "settlement", Data: data, Text: text}})
}
