package ledger

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrClosed   = errors.New("ledger closed")
	// ErrLocked: another process or connection holds a lock on the file.
	ErrLocked = errors.New("database is locked")
	// ErrCorrupt: the file is not a SQLite database or fails its integrity check.
	ErrCorrupt = errors.New("database is corrupt or not a database")
	// ErrUnavailable: the PostgreSQL server cannot be reached.
	ErrUnavailable = errors.New("database unavailable")
	// ErrInvalid: the caller passed an entry or merchant the ledger cannot keep.
	ErrInvalid = errors.New("invalid input")
)

// SettlementMode says when a merchant receives the money of a sale.
type SettlementMode string

const (
	Realtime SettlementMode = "realtime" // D0: credited at once, within the real-time limits
	T1       SettlementMode = "t1"       // credited at the cut-off
)

// RealtimeStatus is the state of a merchant's real-time settlement application;
// only an approved merchant settles D0.
type RealtimeStatus string

const (
	RealtimeNone     RealtimeStatus = "none"
	RealtimePending  RealtimeStatus = "pending"
	RealtimeApproved RealtimeStatus = "approved"
	RealtimeRejected RealtimeStatus = "rejected"
)

// Default fee rates in basis points of a percent (hundredths of a percent):
// 60 = 0.60 %.
const (
	DefaultCardFeeBPS = 60
	DefaultQRFeeBPS   = 38
)

// Merchant is a merchant account's profile. A zero fee rate means the default
// rate; a zero real-time limit means no limit.
type Merchant struct {
	ID, Name       string
	Mode           SettlementMode
	Realtime       RealtimeStatus
	RealtimePerTxn int64 // fen; a sale above it falls back to T+1
	RealtimeDaily  int64 // fen; the day's D0-credited gross may not exceed it
	CardFeeBPS     int64
	QRFeeBPS       int64
	// UnreferencedRefundLimit is the largest refund naming no sale the host
	// may approve for this merchant, in fen; 0 allows none. The host
	// enforces it; the ledger keeps it so Verify can check what was approved.
	UnreferencedRefundLimit int64
}

// Kind is what a journal entry does to the money.
type Kind string

const (
	KindSale       Kind = "sale"
	KindQR         Kind = "qr"
	KindVoid       Kind = "void"
	KindRefund     Kind = "refund"
	KindPreauth    Kind = "preauth"
	KindCompletion Kind = "completion"
	KindReversal   Kind = "reversal"
	KindBalance    Kind = "balance"
	KindAdvice     Kind = "advice"
)

// credits reports whether an approved entry of this kind credits the merchant.
func (k Kind) credits() bool {
	return k == KindSale || k == KindQR || k == KindCompletion || k == KindAdvice
}

// undoes reports whether an entry of this kind cancels an earlier one.
func (k Kind) undoes() bool { return k == KindVoid || k == KindReversal }

func (k Kind) valid() bool {
	switch k {
	case KindSale, KindQR, KindVoid, KindRefund, KindPreauth, KindCompletion, KindReversal, KindBalance, KindAdvice:
		return true
	}
	return false
}

// Key identifies a transaction as the terminal numbers it: terminal ID (41),
// STAN (11) and a date string the caller chooses and keeps consistent.
type Key struct {
	TID  string
	STAN string
	Date string
}

func (k Key) String() string { return k.TID + "/" + k.STAN + "/" + k.Date }

// Entry is one journaled request and the host's decision on it.
type Entry struct {
	Key        Key
	MTI        string
	ProcCode   string
	Kind       Kind
	MerchantID string
	PANMasked  string
	CardRef    string // a keyed hash of the PAN made by the caller, never the PAN
	Method     string // "card" | "qr"
	Amount     int64
	Currency   string
	RespCode   string
	AuthCode   string
	RRN        string
	Batch      string
	Orig       *Key // the original's key, for void, reversal, refund and completion
	Time       time.Time
	// Card, when set on an approved sale or QR payment, has the committer
	// check the card's limits against the journal before it journals the
	// entry, and journal it as declined (Result.Refused) if it would pass
	// one. Hosts sharing one ledger set it: the usage each keeps in
	// memory misses the others' approvals.
	Card *CardLimits
}

// CardLimits are the issuer's limits of a card, for Entry.Card.
type CardLimits struct {
	Limit int64 // available balance before any spending, fen; 0: none
	Daily int   // approved debits a calendar day; 0: none
}

// Posting types.
const (
	PostD0Credit  = "d0_credit"  // sale credited to the account at once
	PostT1Pending = "t1_pending" // sale waiting for the cut-off (negative for a refund)
	PostReverseD0 = "reverse_d0" // money taken back from the account (void, reversal, refund)
	PostCancelT1  = "cancel_t1"  // a pending posting cancelled before the cut-off
	PostT1Credit  = "t1_credit"  // a pending posting credited at the cut-off
)

// Posting is one movement on a merchant account. Net = Gross - Fee. Only
// d0_credit and t1_credit (plus) and reverse_d0 (minus) change the balance.
type Posting struct {
	MerchantID string
	EntryKey   Key
	Type       string
	Gross      int64
	Fee        int64
	Net        int64
	Time       time.Time
}

// Result tells the caller of Record what the journal did.
type Result struct {
	Duplicate       bool
	Existing        *Entry
	Postings        []Posting
	OrigNotFound    bool
	AlreadyReversed bool
	// LateReversed: a reversal for this entry's key arrived before the entry
	// itself (the terminal timed out while the host was still deciding); it is
	// applied now, and Postings hold both the credit and its reversal.
	LateReversed bool
	// Refused, when not "", says why an approved refund, void or reversal
	// was journaled as declined with RespCode instead (see RefusedOverAmount
	// and the other Refused constants); nothing is posted then.
	Refused  string
	RespCode string
}

// Usage is what a card has spent, for the issuer's balance and daily rules.
type Usage struct {
	Spent     int64 // approved debits minus credits, all time; never below zero
	DayAmount int64 // approved debits of the day, net of their reversals
	DayCount  int
}

// Breach is one ledger invariant found broken by Verify.
type Breach struct {
	Rule   string
	Detail string
}

func (b Breach) String() string { return b.Rule + ": " + b.Detail }

// Fee is the fee in fen on amount at bps hundredths of a percent, rounded half
// up (away from zero for a negative amount, so a refund returns the same fee a
// sale of that amount would cost).
func Fee(amount, bps int64) int64 {
	if amount < 0 {
		return -Fee(-amount, bps)
	}
	return (amount*bps + 5000) / 10000
}

func (m *Merchant) normalize() error {
	if m.ID == "" {
		return fmt.Errorf("%w: merchant without ID", ErrInvalid)
	}
	if m.Mode == "" {
		m.Mode = T1
	}
	if m.Realtime == "" {
		m.Realtime = RealtimeNone
	}
	if m.CardFeeBPS == 0 {
		m.CardFeeBPS = DefaultCardFeeBPS
	}
	if m.QRFeeBPS == 0 {
		m.QRFeeBPS = DefaultQRFeeBPS
	}
	switch {
	case m.Mode != Realtime && m.Mode != T1:
		return fmt.Errorf("%w: merchant %s: settlement mode %q (want realtime or t1)", ErrInvalid, m.ID, m.Mode)
	case !m.Realtime.valid():
		return fmt.Errorf("%w: merchant %s: real-time status %q", ErrInvalid, m.ID, m.Realtime)
	case m.RealtimePerTxn < 0 || m.RealtimeDaily < 0:
		return fmt.Errorf("%w: merchant %s: negative real-time limit", ErrInvalid, m.ID)
	case m.UnreferencedRefundLimit < 0:
		return fmt.Errorf("%w: merchant %s: negative unreferenced refund limit %d", ErrInvalid, m.ID, m.UnreferencedRefundLimit)
	case m.CardFeeBPS < 0 || m.CardFeeBPS > 10000 || m.QRFeeBPS < 0 || m.QRFeeBPS > 10000:
		return fmt.Errorf("%w: merchant %s: fee rate outside 0..10000 bps", ErrInvalid, m.ID)
	}
	return nil
}

func (s RealtimeStatus) valid() bool {
	switch s {
	case RealtimeNone, RealtimePending, RealtimeApproved, RealtimeRejected:
		return true
	}
	return false
}

// settlesD0 reports whether the merchant may be credited in real time at all.
func (m *Merchant) settlesD0() bool { return m.Mode == Realtime && m.Realtime == RealtimeApproved }

func (m *Merchant) feeBPS(method string, k Kind) int64 {
	if method == "qr" || (method == "" && k == KindQR) {
		return m.QRFeeBPS
	}
	return m.CardFeeBPS
}

func (e *Entry) validate() error {
	switch {
	case e.Key.TID == "" || e.Key.STAN == "":
		return fmt.Errorf("%w: entry without terminal ID or STAN", ErrInvalid)
	case len(e.MTI) < 3:
		return fmt.Errorf("%w: entry %s: MTI %q", ErrInvalid, e.Key, e.MTI)
	case !e.Kind.valid():
		return fmt.Errorf("%w: entry %s: kind %q", ErrInvalid, e.Key, e.Kind)
	case e.Amount < 0:
		return fmt.Errorf("%w: entry %s: negative amount %d", ErrInvalid, e.Key, e.Amount)
	case e.Time.IsZero():
		return fmt.Errorf("%w: entry %s: no time", ErrInvalid, e.Key)
	}
	return nil
}

// mtiClass is the part of the MTI that makes a request distinct for
// idempotency: version, class and function with responses folded onto their
// requests and repeats onto originals (0200/0201/0210 -> "020", 0400 -> "040",
// 0420/0421 -> "042"). A reversal may carry its original's STAN, so the key
// alone is not enough.
func mtiClass(mti string) string {
	if c := mti[2]; c >= '1' && c <= '9' && (c-'0')&1 == 1 {
		return mti[:2] + string(rune(c-1))
	}
	return mti[:3]
}

// dayStart is the first instant of t's calendar day in t's location.
func dayStart(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func dayName(t time.Time) string { return t.Format("2006-01-02") }
