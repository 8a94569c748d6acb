package terminal

import (
	"time"
)

// Kind is the kind of a transaction in the log.
type Kind string

// Transaction kinds.
const (
	KindSale       Kind = "sale"
	KindQR         Kind = "qr"
	KindVoid       Kind = "void"
	KindRefund     Kind = "refund"
	KindPreAuth    Kind = "preauth"
	KindCompletion Kind = "completion"
)

// Method is how the customer pays.
type Method string

// Payment methods.
const (
	Credit Method = "credit"
	Debit  Method = "debit"
	QR     Method = "qr"
)

// Status is where a transaction ended.
type Status string

// Transaction results.
const (
	StatusApproved Status = "approved"
	StatusDeclined Status = "declined"
	// StatusReversed: the terminal reversed it (no answer, amount
	// mismatch, card declined after approval); the reversal may still be
	// pending, see PendingReversals.
	StatusReversed Status = "reversed"
	StatusVoided   Status = "voided"
	// StatusFailed: it never reached an answer and needs no reversal
	// (link down before sending, card not read).
	StatusFailed Status = "failed"
)

// Item is a basket line. In a request, Code (barcode) or Name picks the
// product of the profile and Qty defaults to 1; Price and the names are
// filled from the profile.
type Item struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameZH string `json:"name_zh,omitempty"`
	Qty    int    `json:"qty"`
	Price  int64  `json:"price"` // per unit, minor units
}

// Total is Qty × Price.
func (it Item) Total() int64 { return int64(it.Qty) * it.Price }

// Txn is one transaction in the terminal's log. The PAN is kept masked;
// the terminal holds the full number internally for voids, refunds and
// batch upload, and seals it in the Store.
type Txn struct {
	Kind      Kind      `json:"kind"`
	Method    Method    `json:"method,omitempty"`
	STAN      string    `json:"stan"`
	Batch     int       `json:"batch"`
	Time      time.Time `json:"time"`
	MTI       string    `json:"mti"`
	ProcCode  string    `json:"proc_code"`
	F7        string    `json:"transmission_dt"`
	Requested int64     `json:"requested"` // amount asked for, minor units
	Amount    int64     `json:"amount"`    // amount approved (partial approval: less)
	Currency  string    `json:"currency"`
	Items     []Item    `json:"items,omitempty"`

	MaskedPAN   string `json:"pan,omitempty"`
	Entry       string `json:"entry,omitempty"`      // chip, tap, swipe, fallback, qr, manual
	EntryMode   string `json:"entry_mode,omitempty"` // field 22
	PANSeq      string `json:"pan_seq,omitempty"`
	CVM         string `json:"cvm,omitempty"`          // pin, signature, none
	PINTry      int    `json:"pin_try,omitempty"`      // a PIN entered again after 55: the sale's 2nd, 3rd... (0: first)
	PaymentCode string `json:"payment_code,omitempty"` // masked

	RRN          string `json:"rrn,omitempty"`
	AuthCode     string `json:"auth_code,omitempty"`
	ResponseCode string `json:"response_code,omitempty"`
	ResponseText string `json:"response_text,omitempty"`
	Status       Status `json:"status"`
	Reason       string `json:"reason,omitempty"`     // why declined, reversed or failed
	Settlement   string `json:"settlement,omitempty"` // D0 or T1 when the host says
	Partial      bool   `json:"partial,omitempty"`

	OrigSTAN  string `json:"orig_stan,omitempty"` // void, refund, completion
	Voided    bool   `json:"voided,omitempty"`
	Completed bool   `json:"completed,omitempty"` // a pre-authorisation that was completed
	Refunded  int64  `json:"refunded,omitempty"`
	Uploaded  bool   `json:"uploaded,omitempty"`

	pan    string
	expiry string
}

// Approved reports whether the host approved it and the terminal kept it.
func (x *Txn) Approved() bool { return x.Status == StatusApproved }

// Reversal is a reversal the terminal owes the host: sent as 0400, then
// repeated as 0401 until the host answers.
type Reversal struct {
	STAN      string    `json:"stan"` // the reversal's own STAN
	OrigMTI   string    `json:"orig_mti"`
	OrigSTAN  string    `json:"orig_stan"`
	OrigF7    string    `json:"orig_transmission_dt"`
	ProcCode  string    `json:"proc_code"`
	Amount    int64     `json:"amount"`
	EntryMode string    `json:"entry_mode,omitempty"`
	PANSeq    string    `json:"pan_seq,omitempty"`
	MaskedPAN string    `json:"pan,omitempty"`
	Code      string    `json:"reason_code"` // field 39 of the 0400: 98 no answer, 06 terminal decision
	Reason    string    `json:"reason"`
	Attempts  int       `json:"attempts"`
	Created   time.Time `json:"created"`

	pan    string
	expiry string
}

// QueuedReceipt is a receipt waiting for the printer (or the last one, for
// reprint). Data is the ESC/POS stream; Text the same receipt as text.
type QueuedReceipt struct {
	STAN string `json:"stan"`
	Copy string `json:"copy"` // merchant, customer
	Data []byte `json:"data"`
	Text string `json:"text"`
}

// SaleRequest asks for a sale. Either Items (or Scan) or Amount.
type SaleRequest struct {
	Items  []Item
	Amount int64
	Method Method // Credit (default), Debit or QR
	// Scan reads the basket from the scanner: ScanCount codes, or until
	// the scanner is quiet for Config.ScanIdle. If the scanner is broken
	// the terminal falls back to keyed entry of Items.
	Scan      bool
	ScanCount int
	// PaymentCode is the customer's QR payment code; empty with Method QR
	// reads it from the scanner.
	PaymentCode string
	// AcceptPartial: the merchant accepts a partial approval (and collects
	// the rest another way). Otherwise a partial approval is reversed.
	AcceptPartial bool
	// Signature: the cardholder signs instead of entering a PIN (a card
	// without a PIN, or PIN bypass); the receipt gets a signature line.
	Signature bool
	// Modes restricts how the card may be read ("chip", "tap", "swipe");
	// empty allows all.
	Modes []string
}

// SelfTest is the result of the power-on self test.
type SelfTest struct {
	Checks []Check `json:"checks"`
}

// Check is one self-test item.
type Check struct {
	Name   string `json:"name"` // host, printer, cardreader, pinpad, scanner
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// OK reports whether every check passed.
func (s SelfTest) OK() bool {
	for _, c := range s.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failed lists the checks that failed.
func (s SelfTest) Failed() []Check {
	var out []Check
	for _, c := range s.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Totals are a batch's totals as sent in the 0500.
type Totals struct {
	SalesCount    int64 `json:"sales_count"`
	SalesAmount   int64 `json:"sales_amount"`
	RefundsCount  int64 `json:"refunds_count"`
	RefundsAmount int64 `json:"refunds_amount"`
}

// SettleResult is the outcome of a settlement.
type SettleResult struct {
	Batch        int       `json:"batch"`
	Totals       Totals    `json:"totals"`
	ResponseCode string    `json:"response_code"`
	Balanced     bool      `json:"balanced"`
	Uploaded     int       `json:"uploaded"` // 0320s sent after a 95
	Time         time.Time `json:"time"`
	NextBatch    int       `json:"next_batch"`
}
