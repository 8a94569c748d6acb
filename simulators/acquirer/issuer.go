package acquirer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/ledger"
)

// defaultCardRefKey keys card references when the config gives none. It is
// a constant on purpose: card usage in a database must be found again after
// a restart.
var defaultCardRefKey = []byte("possim card reference v1")

// Card statuses and the codes they decline with.
var statusCodes = map[string]string{
	"active":     "",
	"lost":       "41",
	"stolen":     "43",
	"restricted": "57",
	"blocked":    "05",
	"expired":    "54",
}

// statusPINBlocked is not a status of its own: it spends the card's PIN
// tries, so the next transaction with a PIN is declined 75, as after three
// wrong PINs, until ResetPINTries.
const statusPINBlocked = "pin_blocked"

// cardStatuses are the statuses SetCardStatus takes, in the order errors list them.
var cardStatuses = []string{"active", "lost", "stolen", "expired", "restricted", "blocked", statusPINBlocked}

// account is an issuer account: a card of the book or a QR wallet. Its
// mutable state is guarded by lock, a channel so that waiting on it is
// durable blocking inside a synctest bubble.
type account struct {
	lock   chan struct{}
	alias  string
	pan    string // PAN, or payment code for a wallet
	masked string
	ref    string // HMAC of pan, what the ledger keeps
	wallet bool
	pin    string
	expiry string // YYMM
	panSeq string
	limit  int64
	perTxn int64
	daily  int

	// guarded by lock
	status   string
	pinTries int
	loaded   bool
	stale    bool   // usage changed behind the cache: reload when nothing is in flight
	day      string // the day dayCount counts
	spent    int64  // approved debits minus credits, from the ledger plus what this host journaled
	dayCount int
	reserved int64 // approvals decided but not yet journaled
	resCount int
	inflight int
	// the last accepted EMV transaction counter (9F36), see checkATC
	atc       uint16
	atcSeen   bool // a counter was accepted
	atcLoaded bool // atc and atcSeen hold the ledger's record
}

func (a *account) acquire() { a.lock <- struct{}{} }
func (a *account) release() { <-a.lock }

// issuer is the card book and the wallets, built once from the profile.
type issuer struct {
	byPAN   map[string]*account
	byAlias map[string]*account
	byRef   map[string]*account
	wallets map[string]*account
	refKey  []byte
}

func newIssuer(p *profile.Profile, refKey []byte) (*issuer, error) {
	if len(refKey) == 0 {
		refKey = defaultCardRefKey
	}
	is := &issuer{byPAN: map[string]*account{}, byAlias: map[string]*account{}, byRef: map[string]*account{},
		wallets: map[string]*account{}, refKey: refKey}
	for _, c := range p.Cards {
		st := c.Status
		if st == "" {
			st = "active"
		}
		if _, ok := statusCodes[st]; !ok {
			return nil, fmt.Errorf("acquirer: card %s: unknown status %q", c.Alias, c.Status)
		}
		a := &account{lock: make(chan struct{}, 1), alias: c.Alias, pan: c.PAN, masked: card.MaskPAN(c.PAN),
			ref: is.ref(c.PAN), pin: c.PIN, expiry: c.ExpiryYYMM(), panSeq: c.PANSeq, limit: int64(c.Limit),
			perTxn: int64(c.PerTxnLimit), daily: c.DailyCount, status: st}
		is.byPAN[c.PAN], is.byAlias[c.Alias], is.byRef[a.ref] = a, a, a
	}
	for _, w := range p.Wallets {
		a := &account{lock: make(chan struct{}, 1), alias: "wallet:" + w.Name, pan: w.Code, masked: card.MaskPaymentCode(w.Code),
			ref: is.ref(w.Code), wallet: true, limit: int64(w.Balance), status: "active"}
		is.wallets[w.Code], is.byRef[a.ref] = a, a
	}
	return is, nil
}

// ref is the keyed hash that stands for a PAN in the ledger.
func (is *issuer) ref(pan string) string {
	m := hmac.New(sha256.New, is.refKey)
	m.Write([]byte(pan))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (is *issuer) panOfAlias(alias string) string {
	if a, ok := is.byAlias[alias]; ok {
		return a.pan
	}
	return ""
}

func (is *issuer) setStatus(alias, status string) error {
	a, ok := is.byAlias[alias]
	if !ok {
		return fmt.Errorf("acquirer: unknown card %q", alias)
	}
	if status == statusPINBlocked {
		a.acquire()
		a.pinTries = maxPINTries
		a.release()
		return nil
	}
	if _, ok := statusCodes[status]; !ok {
		return fmt.Errorf("acquirer: card status %q: want one of %s", status, strings.Join(cardStatuses, ", "))
	}
	a.acquire()
	a.status = status
	a.release()
	return nil
}

func (is *issuer) resetPIN(alias string) error {
	a, ok := is.byAlias[alias]
	if !ok {
		return fmt.Errorf("acquirer: unknown card %q", alias)
	}
	a.acquire()
	a.pinTries = 0
	a.release()
	return nil
}

// markStale says the ledger moved the card's usage in a way the cache does
// not follow (a reversal, a void, an advice).
func (is *issuer) markStale(ref string) {
	if a, ok := is.byRef[ref]; ok {
		a.acquire()
		a.stale = true
		a.release()
	}
}

// refresh brings the usage cache up to date; a.lock is held. The cache is
// (re)loaded from the ledger only when no approval of this card is between
// decision and journal, so the ledger's figure is exactly what was
// journaled.
func (a *account) refresh(ctx context.Context, led *ledger.Ledger, now time.Time) error {
	day := now.Format("2006-01-02")
	// On a shared ledger other hosts' approvals and reversals move the
	// usage too: it is read again whenever nothing of this host's is in
	// flight.
	if !a.loaded || ((a.stale || led.Shared()) && a.inflight == 0) {
		u, err := led.CardUsage(ctx, a.ref, now)
		if err != nil {
			return err
		}
		a.spent, a.dayCount, a.day, a.loaded, a.stale = u.Spent, u.DayCount, day, true, false
		return nil
	}
	if a.day != day {
		a.day, a.dayCount = day, 0
	}
	return nil
}

// maxPINTries wrong PINs in a row block the card's PIN (75).
const maxPINTries = 3

// rule failures of the card checks, in the order a host applies them.
type decision struct {
	code string // "00" or a decline
	sk   []byte // EMV session key when the ARQC verified
	arqc []byte
	note string // why, when the code alone does not say (a replay)
}

// cardCheck is the input of the issuer rules.
type cardCheck struct {
	pan      string
	expiry   string // YYMM from field 14 or track 2; "" if not sent
	amount   int64
	pinBlock []byte
	pinKey   []byte // the terminal's session key; nil if not signed on
	icc      []byte
	debit    bool // the amount leaves the account (sale, pre-auth)
	balance  bool // balance inquiry: no amount rules
	now      time.Time
	imk      []byte
}

// authorise runs the rules for a on c with a.lock held and returns the
// response code. 14 (unknown card) is decided before, by the caller.
func (a *account) authorise(ctx context.Context, led *ledger.Ledger, c *cardCheck) (decision, error) {
	var d decision
	if code := statusCodes[a.status]; code != "" {
		d.code = code
		return d, nil
	}
	if !a.wallet {
		exp := c.expiry
		if exp == "" {
			exp = a.expiry
		}
		if exp != a.expiry || expired(exp, c.now) {
			d.code = "54"
			return d, nil
		}
	}
	if !c.balance && c.amount <= 0 {
		d.code = "13"
		return d, nil
	}
	if len(c.pinBlock) > 0 && a.pin != "" {
		if err := a.loadPINTries(ctx, led); err != nil {
			return d, err
		}
		if c.pinKey == nil {
			d.code = "96"
			return d, nil
		}
		if a.pinTries >= maxPINTries {
			d.code = "75"
			return d, nil
		}
		pin, err := card.DecryptPIN(c.pinKey, c.pinBlock, c.pan)
		var pbe *card.PINBlockError
		switch {
		case err != nil && !errors.As(err, &pbe):
			d.code = "96"
			return d, nil
		case err != nil || pin != a.pin:
			if err := a.wrongPIN(ctx, led, c.now); err != nil {
				return d, err
			}
			d.code = "55"
			if a.pinTries >= maxPINTries {
				d.code = "75"
			}
			return d, nil
		}
		if err := a.rightPIN(ctx, led, c.now); err != nil {
			return d, err
		}
	} else if a.pinTries >= maxPINTries && len(c.pinBlock) > 0 {
		d.code = "75"
		return d, nil
	}
	if len(c.icc) > 0 {
		r, arqc, err := card.ParseICCData(c.icc)
		if err != nil {
			d.code = "30"
			return d, nil
		}
		sk, err := card.VerifyARQC(c.imk, c.pan, r, arqc)
		if err != nil || (!c.balance && r.Amount != c.amount) {
			d.code = "05"
			return d, nil
		}
		code, note, err := a.checkATC(ctx, led, r.ATC, c.now)
		if err != nil {
			return d, err
		}
		if code != "" {
			d.code, d.note = code, note
			return d, nil
		}
		d.sk, d.arqc = sk, arqc
	}
	if c.balance {
		if err := a.refresh(ctx, led, c.now); err != nil {
			return d, err
		}
		d.code = "00"
		return d, nil
	}
	if a.perTxn > 0 && c.amount > a.perTxn {
		d.code = "61"
		return d, nil
	}
	if err := a.refresh(ctx, led, c.now); err != nil {
		return d, err
	}
	if c.debit && a.daily > 0 && a.dayCount+a.resCount >= a.daily {
		d.code = "65"
		return d, nil
	}
	if c.debit && c.amount > a.limit-a.spent-a.reserved {
		d.code = "51"
		return d, nil
	}
	d.code = "00"
	return d, nil
}

// available is the account's available balance; a.lock is held.
func (a *account) available() int64 { return a.limit - a.spent - a.reserved }

// reserve holds amount for an approval until it is journaled; a.lock is held.
func (a *account) reserve(amount int64) {
	a.reserved += amount
	a.resCount++
	a.inflight++
}

// settle ends a reservation once Record returned: the usage grows only if
// the entry was journaled anew; after a ledger failure nobody knows, so the
// cache is reloaded.
func (a *account) settle(amount int64, journaled, unsure bool) {
	a.acquire()
	a.reserved -= amount
	a.resCount--
	a.inflight--
	if unsure {
		a.stale = true
	} else if journaled {
		a.spent += amount
		a.dayCount++
	}
	a.release()
}

// expired says whether a YYMM expiry is before now's month.
func expired(yymm string, now time.Time) bool {
	if len(yymm) != 4 || !digits(yymm) {
		return true
	}
	y := 2000 + int(yymm[0]-'0')*10 + int(yymm[1]-'0')
	m := int(yymm[2]-'0')*10 + int(yymm[3]-'0')
	if m < 1 || m > 12 {
		return true
	}
	ny, nm := now.Year(), int(now.Month())
	return y < ny || (y == ny && m < nm)
}

// expiryOfTrack2 pulls YYMM out of field 35 ("PAN=YYMM...").
func expiryOfTrack2(t2 string) (pan, yymm string, ok bool) {
	td, err := card.ParseTrack2(t2)
	if err != nil {
		return "", "", false
	}
	return td.PAN, td.Expiry, true
}

// versionLess compares dotted version strings numerically ("2.10" > "2.9").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x = atoiPrefix(as[i])
		}
		if i < len(bs) {
			y = atoiPrefix(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func atoiPrefix(s string) int {
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1e8; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
