package cardreader

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
)

// Card is one virtual card the reader can be given.
type Card struct {
	Alias       string
	PAN         string
	Expiry      string // YYMM
	ServiceCode string // "201" chip, "101" magstripe only
	PANSeq      string // "01"
	Name        string // as on track 1: "SURNAME/GIVEN"
	Chip        bool
	Contactless bool
	Magstripe   bool
	// ATC is the application transaction counter before the first
	// transaction; each GENERATE AC of a new transaction adds one.
	ATC uint16
}

// CardsFromProfile converts a profile's cards for the reader.
func CardsFromProfile(cs []profile.Card) []Card {
	out := make([]Card, 0, len(cs))
	for _, c := range cs {
		out = append(out, Card{
			Alias:       c.Alias,
			PAN:         c.PAN,
			Expiry:      c.ExpiryYYMM(),
			ServiceCode: c.ServiceCode(),
			PANSeq:      c.PANSeq,
			Name:        c.Name,
			Chip:        c.Has("chip"),
			Contactless: c.Has("tap"),
			Magstripe:   c.Has("swipe"),
		})
	}
	return out
}

func (c Card) validate() error {
	if len(c.PAN) < 12 || len(c.PAN) > 19 || !digits(c.PAN) {
		return fmt.Errorf("card %q: PAN must be 12 to 19 digits", c.Alias)
	}
	if len(c.Expiry) != 4 || !digits(c.Expiry) {
		return fmt.Errorf("card %q: expiry %q must be YYMM", c.Alias, c.Expiry)
	}
	if len(c.ServiceCode) != 3 || !digits(c.ServiceCode) {
		return fmt.Errorf("card %q: service code %q must be 3 digits", c.Alias, c.ServiceCode)
	}
	if c.PANSeq != "" && (len(c.PANSeq) != 2 || !digits(c.PANSeq)) {
		return fmt.Errorf("card %q: PAN sequence %q must be 2 digits", c.Alias, c.PANSeq)
	}
	if !c.Chip && !c.Contactless && !c.Magstripe {
		return fmt.Errorf("card %q: no interface (chip, tap or swipe)", c.Alias)
	}
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Modes says which ways of reading a card the terminal accepts.
type Modes uint8

// Card presentation modes.
const (
	ModeChip Modes = 1 << iota
	ModeTap
	ModeSwipe
	ModeAll = ModeChip | ModeTap | ModeSwipe
)

var modeNames = []struct {
	m    Modes
	name string
}{{ModeChip, "CHIP"}, {ModeTap, "TAP"}, {ModeSwipe, "SWIPE"}}

// String returns the protocol form, "CHIP,TAP,SWIPE".
func (m Modes) String() string {
	var parts []string
	for _, n := range modeNames {
		if m&n.m != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}

func parseModes(s string) (Modes, error) {
	var m Modes
	for _, p := range strings.Split(s, ",") {
		i := slices.IndexFunc(modeNames, func(n struct {
			m    Modes
			name string
		}) bool {
			return n.name == p
		})
		if i < 0 {
			return 0, fmt.Errorf("unknown mode %q (want CHIP, TAP, SWIPE)", p)
		}
		m |= modeNames[i].m
	}
	return m, nil
}

// EntryMode is how the card was read.
type EntryMode string

// Entry modes; fallback is a swipe after a failed chip read.
const (
	EntryChip     EntryMode = "chip"
	EntryTap      EntryMode = "tap"
	EntrySwipe    EntryMode = "swipe"
	EntryFallback EntryMode = "fallback"
)

// Read is what the reader returns for a presented card. Track and ICC data
// are secrets: never log them.
type Read struct {
	Entry          EntryMode
	PAN            string
	Expiry         string // YYMM
	Track2         string
	Track1         string // swipe only
	ServiceCode    string
	PANSeq         string
	CardholderName string
	ICC            []byte // field 55 TLV, chip and tap only
}

func (rd Read) message() serial.Message {
	m := serial.Message{Cmd: cmdWait, Status: swOK, Detail: strings.ToUpper(string(rd.Entry))}
	add := func(k, v string) {
		if v != "" {
			m.Fields = append(m.Fields, [2]string{k, v})
		}
	}
	add("PAN", rd.PAN)
	add("EXP", rd.Expiry)
	add("SEQ", rd.PANSeq)
	add("SVC", rd.ServiceCode)
	add("NAME", rd.CardholderName)
	add("T2", rd.Track2)
	add("T1", rd.Track1)
	if len(rd.ICC) > 0 {
		add("ICC", strings.ToUpper(hex.EncodeToString(rd.ICC)))
	}
	return m
}

func readFromMessage(m serial.Message) (Read, error) {
	rd := Read{
		Entry:          EntryMode(strings.ToLower(m.Detail)),
		PAN:            m.Field("PAN"),
		Expiry:         m.Field("EXP"),
		PANSeq:         m.Field("SEQ"),
		ServiceCode:    m.Field("SVC"),
		CardholderName: m.Field("NAME"),
		Track2:         m.Field("T2"),
		Track1:         m.Field("T1"),
	}
	switch rd.Entry {
	case EntryChip, EntryTap, EntrySwipe, EntryFallback:
	default:
		return Read{}, fmt.Errorf("unknown entry mode %q", m.Detail)
	}
	if icc := m.Field("ICC"); icc != "" {
		b, err := hex.DecodeString(icc)
		if err != nil {
			return Read{}, fmt.Errorf("ICC field is not hex")
		}
		rd.ICC = b
	}
	if rd.PAN == "" {
		return Read{}, fmt.Errorf("read without PAN")
	}
	return rd, nil
}

// vcard is a card in the reader's keeping, with its counter.
type vcard struct {
	Card
	atc uint16
}

// chipRead runs the first GENERATE AC: the card bumps its ATC, derives its
// session key and computes the ARQC over the terminal's data.
func (c *vcard) chipRead(imk []byte, req card.ICCRequest, entry EntryMode) (Read, *txn, error) {
	c.atc++
	req.ATC = c.atc
	req.PANSeq = c.PANSeq
	if req.PANSeq == "" {
		req.PANSeq = "00"
	}
	req.AIP = [2]byte{0x18, 0x00}             // cardholder verification, terminal risk management
	req.CVR = [4]byte{0x03, 0xA0, 0x00, 0x00} // Visa CVR: ARQC returned in first GENERATE AC
	mk, err := card.DeriveICCMasterKey(imk, c.PAN, req.PANSeq)
	if err != nil {
		return Read{}, nil, err
	}
	sk, err := card.SessionKey(mk, req.ATC)
	if err != nil {
		return Read{}, nil, err
	}
	arqc, err := card.ARQC(sk, card.CDOL1Data(req))
	if err != nil {
		return Read{}, nil, err
	}
	rd := Read{
		Entry:          entry,
		PAN:            c.PAN,
		Expiry:         c.Expiry,
		Track2:         card.Track2(c.PAN, c.Expiry, c.ServiceCode, "0000000000"),
		ServiceCode:    c.ServiceCode,
		PANSeq:         req.PANSeq,
		CardholderName: c.Name,
		ICC:            card.BuildICCData(req, arqc),
	}
	return rd, &txn{card: c, entry: entry, sk: sk, arqc: arqc}, nil
}

// swipeRead reads the magnetic stripe.
func (c *vcard) swipeRead(entry EntryMode) Read {
	return Read{
		Entry:          entry,
		PAN:            c.PAN,
		Expiry:         c.Expiry,
		Track2:         card.Track2(c.PAN, c.Expiry, c.ServiceCode, "0000000000"),
		Track1:         card.Track1(c.PAN, c.Name, c.Expiry, c.ServiceCode, "0000000000"),
		ServiceCode:    c.ServiceCode,
		CardholderName: c.Name,
	}
}

// txn is a chip or contactless transaction between the first GENERATE AC
// and completion.
type txn struct {
	card   *vcard
	entry  EntryMode
	sk     []byte
	arqc   []byte
	pulled bool
	done   bool
}
