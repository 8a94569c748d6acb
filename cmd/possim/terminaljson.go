package main

import (
	"time"

	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/terminal"
)

// termOutputJSON is what `possim terminal --json` prints: the JSON style of
// every --json output (snake_case keys, amounts as decimal strings beside
// a "currency" key, times in RFC 3339). The terminal's own types keep
// amounts in fen because they are also its state file; these structs are
// the CLI's view of them, so neither format drags the other along.
type termOutputJSON struct {
	Command          string             `json:"command"`
	OK               bool               `json:"ok"`
	Error            string             `json:"error,omitempty"`
	Display          string             `json:"display"`
	SelfTest         *termSelfTestJSON  `json:"self_test,omitempty"`
	Txn              *termTxnJSON       `json:"txn,omitempty"`
	Settle           *termSettleJSON    `json:"settle,omitempty"`
	Log              []termTxnJSON      `json:"log,omitempty"`
	Receipts         []string           `json:"receipts,omitempty"`
	Alerts           []string           `json:"alerts,omitempty"`
	PendingReversals []termReversalJSON `json:"pending_reversals,omitempty"`
	Batch            int                `json:"batch"`
	Notes            []string           `json:"notes,omitempty"`
	Hints            []string           `json:"hints,omitempty"`
}

// termSelfTestJSON is the power-on self test.
type termSelfTestJSON struct {
	Checks []termCheckJSON `json:"checks"`
}

type termCheckJSON struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// termTxnJSON is one transaction. transmission_dt stays field 7 as sent
// (MMDDhhmmss), to be matched against host traces; time is the terminal's
// clock in RFC 3339.
type termTxnJSON struct {
	Kind      terminal.Kind   `json:"kind"`
	Method    terminal.Method `json:"method,omitempty"`
	STAN      string          `json:"stan"`
	Batch     int             `json:"batch"`
	Time      time.Time       `json:"time"`
	MTI       string          `json:"mti"`
	ProcCode  string          `json:"proc_code"`
	F7        string          `json:"transmission_dt"`
	Requested money.Decimal   `json:"requested"` // amount asked for
	Amount    money.Decimal   `json:"amount"`    // amount approved (partial approval: less)
	Currency  string          `json:"currency"`
	Items     []termItemJSON  `json:"items,omitempty"`

	MaskedPAN   string `json:"pan,omitempty"`
	Entry       string `json:"entry,omitempty"`
	EntryMode   string `json:"entry_mode,omitempty"`
	PANSeq      string `json:"pan_seq,omitempty"`
	CVM         string `json:"cvm,omitempty"`
	PINTry      int    `json:"pin_try,omitempty"`
	PaymentCode string `json:"payment_code,omitempty"`

	RRN          string          `json:"rrn,omitempty"`
	AuthCode     string          `json:"auth_code,omitempty"`
	ResponseCode string          `json:"response_code,omitempty"`
	ResponseText string          `json:"response_text,omitempty"`
	Status       terminal.Status `json:"status"`
	Reason       string          `json:"reason,omitempty"`
	Settlement   string          `json:"settlement,omitempty"`
	Partial      bool            `json:"partial,omitempty"`

	OrigSTAN  string        `json:"orig_stan,omitempty"`
	Voided    bool          `json:"voided,omitempty"`
	Completed bool          `json:"completed,omitempty"`
	Refunded  money.Decimal `json:"refunded,omitempty"`
	Uploaded  bool          `json:"uploaded,omitempty"`
}

// termItemJSON is a basket line; price is per unit.
type termItemJSON struct {
	Code     string        `json:"code"`
	Name     string        `json:"name"`
	NameZH   string        `json:"name_zh,omitempty"`
	Qty      int           `json:"qty"`
	Price    money.Decimal `json:"price"`
	Currency string        `json:"currency"`
}

// termReversalJSON is a reversal the terminal still owes the host.
type termReversalJSON struct {
	STAN      string        `json:"stan"`
	OrigMTI   string        `json:"orig_mti"`
	OrigSTAN  string        `json:"orig_stan"`
	OrigF7    string        `json:"orig_transmission_dt"`
	ProcCode  string        `json:"proc_code"`
	Amount    money.Decimal `json:"amount"`
	Currency  string        `json:"currency"`
	EntryMode string        `json:"entry_mode,omitempty"`
	PANSeq    string        `json:"pan_seq,omitempty"`
	MaskedPAN string        `json:"pan,omitempty"`
	Code      string        `json:"reason_code"`
	Reason    string        `json:"reason"`
	Attempts  int           `json:"attempts"`
	Created   time.Time     `json:"created"`
}

// termSettleJSON is the outcome of a settlement.
type termSettleJSON struct {
	Batch        int            `json:"batch"`
	Totals       termTotalsJSON `json:"totals"`
	ResponseCode string         `json:"response_code"`
	Balanced     bool           `json:"balanced"`
	Uploaded     int            `json:"uploaded"`
	Time         time.Time      `json:"time"`
	NextBatch    int            `json:"next_batch"`
}

// termTotalsJSON are a batch's totals as sent in the 0500.
type termTotalsJSON struct {
	SalesCount    int64         `json:"sales_count"`
	SalesAmount   money.Decimal `json:"sales_amount"`
	RefundsCount  int64         `json:"refunds_count"`
	RefundsAmount money.Decimal `json:"refunds_amount"`
	Currency      string        `json:"currency"`
}

// newTermOutputJSON converts one invocation's result. cur is the currency
// of amounts whose terminal type carries none (reversals, totals, items,
// a transaction that failed before it got one).
func newTermOutputJSON(o *termOutput) termOutputJSON {
	cur := firstOf(o.Currency, money.Currency)
	out := termOutputJSON{Command: o.Command, OK: o.OK, Error: o.Error, Display: o.Display,
		Receipts: o.Receipts, Alerts: o.Alerts, Batch: o.Batch, Notes: o.Notes, Hints: o.Hints}
	if s := o.SelfTest; s != nil {
		st := &termSelfTestJSON{Checks: []termCheckJSON{}}
		for _, c := range s.Checks {
			st.Checks = append(st.Checks, termCheckJSON{Name: c.Name, OK: c.OK, Detail: c.Detail})
		}
		out.SelfTest = st
	}
	if o.Txn != nil {
		x := newTermTxnJSON(*o.Txn, cur)
		out.Txn = &x
	}
	if s := o.Settle; s != nil {
		out.Settle = &termSettleJSON{Batch: s.Batch, ResponseCode: s.ResponseCode, Balanced: s.Balanced,
			Uploaded: s.Uploaded, Time: s.Time, NextBatch: s.NextBatch,
			Totals: termTotalsJSON{SalesCount: s.Totals.SalesCount, SalesAmount: money.Decimal(s.Totals.SalesAmount),
				RefundsCount: s.Totals.RefundsCount, RefundsAmount: money.Decimal(s.Totals.RefundsAmount), Currency: cur}}
	}
	for _, x := range o.Log {
		out.Log = append(out.Log, newTermTxnJSON(x, cur))
	}
	for _, r := range o.PendingReversals {
		out.PendingReversals = append(out.PendingReversals, termReversalJSON{STAN: r.STAN, OrigMTI: r.OrigMTI,
			OrigSTAN: r.OrigSTAN, OrigF7: r.OrigF7, ProcCode: r.ProcCode, Amount: money.Decimal(r.Amount), Currency: cur,
			EntryMode: r.EntryMode, PANSeq: r.PANSeq, MaskedPAN: r.MaskedPAN, Code: r.Code, Reason: r.Reason,
			Attempts: r.Attempts, Created: r.Created})
	}
	return out
}

func newTermTxnJSON(x terminal.Txn, cur string) termTxnJSON {
	cur = firstOf(x.Currency, cur)
	out := termTxnJSON{Kind: x.Kind, Method: x.Method, STAN: x.STAN, Batch: x.Batch, Time: x.Time, MTI: x.MTI,
		ProcCode: x.ProcCode, F7: x.F7, Requested: money.Decimal(x.Requested), Amount: money.Decimal(x.Amount),
		Currency: cur, MaskedPAN: x.MaskedPAN, Entry: x.Entry, EntryMode: x.EntryMode, PANSeq: x.PANSeq, CVM: x.CVM,
		PINTry: x.PINTry, PaymentCode: x.PaymentCode, RRN: x.RRN, AuthCode: x.AuthCode, ResponseCode: x.ResponseCode,
		ResponseText: x.ResponseText, Status: x.Status, Reason: x.Reason, Settlement: x.Settlement, Partial: x.Partial,
		OrigSTAN: x.OrigSTAN, Voided: x.Voided, Completed: x.Completed, Refunded: money.Decimal(x.Refunded),
		Uploaded: x.Uploaded}
	for _, it := range x.Items {
		out.Items = append(out.Items, termItemJSON{Code: it.Code, Name: it.Name, NameZH: it.NameZH, Qty: it.Qty,
			Price: money.Decimal(it.Price), Currency: cur})
	}
	return out
}
