package harness

import (
	"time"

	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/ledger"
)

// StatementTotals is a merchant's statement without its lines, in the
// JSON style of every --json output (snake_case keys, amounts as decimal
// strings beside a "currency" key, times in RFC 3339). The host admin
// API's /api/statement serves it as it is.
type StatementTotals struct {
	MerchantID    string        `json:"merchant_id"`
	Name          string        `json:"name"`
	Period        string        `json:"period"`
	From          time.Time     `json:"from"`
	To            time.Time     `json:"to"`
	Currency      string        `json:"currency"`
	SalesCount    int           `json:"sales_count"`
	Gross         money.Decimal `json:"gross"`
	RefundCount   int           `json:"refund_count"`
	Refunds       money.Decimal `json:"refunds"`
	ReversalCount int           `json:"reversal_count"`
	Reversals     money.Decimal `json:"reversals"`
	DeclinedCount int           `json:"declined_count"`
	Fees          money.Decimal `json:"fees"`
	Net           money.Decimal `json:"net"`
	SettledD0     money.Decimal `json:"settled_d0"`
	SettledT1     money.Decimal `json:"settled_t1"`
	PendingT1     money.Decimal `json:"pending_t1"`
}

// StatementJSON is what `possim ledger statement --json` prints: the
// totals, their keys inline, then the lines (an empty list, not null,
// when there are none).
type StatementJSON struct {
	StatementTotals
	Lines []StatementLine `json:"lines"`
}

// StatementLine is one journal entry; fee and net are signed as they
// move the merchant's money.
type StatementLine struct {
	Time         time.Time     `json:"time"`
	TID          string        `json:"tid"`
	STAN         string        `json:"stan"`
	Date         string        `json:"date"`
	Kind         string        `json:"kind"`
	Method       string        `json:"method,omitempty"`
	PANMasked    string        `json:"pan_masked,omitempty"`
	Amount       money.Decimal `json:"amount"`
	Currency     string        `json:"currency"`
	ResponseCode string        `json:"response_code"`
	AuthCode     string        `json:"auth_code,omitempty"`
	RRN          string        `json:"rrn,omitempty"`
	Batch        string        `json:"batch,omitempty"`
	Fee          money.Decimal `json:"fee"`
	Net          money.Decimal `json:"net"`
	Settlement   string        `json:"settlement,omitempty"`
}

// NewStatementTotals is st's totals in the JSON shape.
func NewStatementTotals(st ledger.Statement) StatementTotals {
	return StatementTotals{MerchantID: st.MerchantID, Name: st.Name, Period: string(st.Period),
		From: st.From, To: st.To, Currency: money.Currency,
		SalesCount: st.Count, Gross: money.Decimal(st.Gross),
		RefundCount: st.RefundCount, Refunds: money.Decimal(st.Refunds),
		ReversalCount: st.ReversalCount, Reversals: money.Decimal(st.Reversals),
		DeclinedCount: st.DeclinedCount, Fees: money.Decimal(st.Fees), Net: money.Decimal(st.Net),
		SettledD0: money.Decimal(st.SettledD0), SettledT1: money.Decimal(st.SettledT1), PendingT1: money.Decimal(st.PendingT1)}
}

// NewStatementJSON is st, totals and lines, in the JSON shape.
func NewStatementJSON(st ledger.Statement) StatementJSON {
	out := StatementJSON{StatementTotals: NewStatementTotals(st), Lines: []StatementLine{}}
	for _, ln := range st.Lines {
		out.Lines = append(out.Lines, StatementLine{Time: ln.Time, TID: ln.Key.TID, STAN: ln.Key.STAN, Date: ln.Key.Date,
			Kind: string(ln.Kind), Method: ln.Method, PANMasked: ln.PANMasked, Amount: money.Decimal(ln.Amount),
			Currency: money.Currency, ResponseCode: ln.RespCode, AuthCode: ln.AuthCode, RRN: ln.RRN, Batch: ln.Batch,
			Fee: money.Decimal(ln.Fee), Net: money.Decimal(ln.Net), Settlement: ln.Settlement})
	}
	return out
}
