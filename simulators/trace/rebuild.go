package trace

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// rebuilder turns recorded requests back into messages to send: from the
// captured bytes when the trace has them, else from the masked values with
// the card data taken from the profile's test cards. It keeps what the
// replay has learnt so far: the STANs, times, reference numbers and
// session keys of the new run against those of the recording.
type rebuilder struct {
	spec  *iso8583.MessageSpec
	prof  *profile.Profile
	fresh bool
	now   func() time.Time

	nextSTAN int
	stans    map[string]string // recorded STAN -> sent STAN
	times    map[string]string // recorded STAN + field 7 -> sent field 7
	refs     map[string]string // recorded answer's 37 or 38 -> the new answer's
	oldKeys  map[string][]byte // terminal -> session key of the recording
	newKeys  map[string][]byte // terminal -> session key of this run
	mapped   map[string]bool   // masked PANs already reported
	atc      uint16            // the counter of ICC data made anew
}

func newRebuilder(spec *iso8583.MessageSpec, prof *profile.Profile, fresh bool, now func() time.Time) *rebuilder {
	return &rebuilder{spec: spec, prof: prof, fresh: fresh, now: now,
		// STANs advance 20 a second with the clock, so two replays a
		// second apart do not reuse each other's numbers.
		nextSTAN: int(now().UnixMilli()/50%999000) + 1,
		stans:    map[string]string{}, times: map[string]string{}, refs: map[string]string{},
		oldKeys: map[string][]byte{}, newKeys: map[string][]byte{}, mapped: map[string]bool{},
		// A card's counter must rise above the last one a host accepted:
		// it starts from the clock (a quarter of a second per step).
		atc: uint16(now().Unix()/4%60000) + 1}
}

// build makes the message to send for recorded request m. notes say what
// was changed and why; an error means it cannot be sent at all.
func (b *rebuilder) build(m *Message) (msg *iso8583.Message, notes []string, err error) {
	msg = iso8583.NewMessage(b.spec)
	if m.raw != nil {
		if err := unpack(msg, m.raw); err != nil {
			return nil, nil, fmt.Errorf("unpacking the recorded frame: %w", err)
		}
	} else {
		if notes, err = b.unmask(msg, m); err != nil {
			return nil, notes, err
		}
	}
	tid := m.Field(41)
	if b.fresh {
		b.freshen(msg, m)
	}
	// References the host handed out in this run stand in for those of the
	// recording: a void names the sale by the RRN and approval code it got.
	for _, id := range []int{37, 38} {
		if v, _ := msg.GetString(id); v != "" {
			if nv, ok := b.refs[strconv.Itoa(id)+v]; ok {
				msg.Field(id, nv)
			}
		}
	}
	if pb := msg.GetField(52); pb != nil && m.raw != nil {
		notes = append(notes, b.reencrypt(msg, tid)...)
	}
	return msg, notes, nil
}

// unmask fills msg from masked values: a PAN as 6+4 is matched to a
// profile card, track 2 is made from that card, a masked PIN block is made
// anew from the card's test PIN, and ICC data (which cannot be rebuilt
// without the card's counter) is left out.
func (b *rebuilder) unmask(msg *iso8583.Message, m *Message) (notes []string, err error) {
	msg.MTI(m.MTI)
	var c *profile.Card
	if masked := m.Field(2); strings.Contains(masked, "*") {
		found, ok := b.cardFor(masked)
		if !ok {
			return nil, fmt.Errorf("PAN %s is masked and matches no card of the profile by first 6 and last 4 digits", masked)
		}
		c = &found
		if !b.mapped[masked] {
			b.mapped[masked] = true
			notes = append(notes, fmt.Sprintf("masked PAN %s mapped to the profile's card %s by first 6 and last 4 digits", masked, found.Alias))
		}
	}
	for _, f := range m.Fields {
		v := f.Value
		switch {
		case f.Num == 2 && c != nil:
			v = c.PAN
		case f.Num == 35 && isLengthOnly(v):
			if c == nil {
				notes = append(notes, "track 2 is masked and no card is known: sent without it")
				continue
			}
			v = card.Track2(c.PAN, c.ExpiryYYMM(), c.ServiceCode(), "")
		case f.Num == 55 && isLengthOnly(v) && c != nil:
			icc, note, err := b.icc(c, m)
			if err != nil {
				return notes, err
			}
			notes = append(notes, note)
			msg.BinaryField(55, icc)
			continue
		case f.Num == 52 && isLengthOnly(v):
			// Filled in by pin below, once the session key is known.
			continue
		case isLengthOnly(v) || strings.Contains(v, "*"):
			notes = append(notes, fmt.Sprintf("field %d %s is masked in the trace: sent without it", f.Num, f.Name))
			continue
		}
		msg.Field(f.Num, v)
	}
	if isLengthOnly(m.Field(52)) {
		tid := m.Field(41)
		switch key := b.newKeys[tid]; {
		case c == nil || c.PIN == "":
			notes = append(notes, "the PIN block is masked in the trace and no test PIN is known: the PIN cannot be replayed, sent without it")
		case key == nil:
			notes = append(notes, "the PIN block is masked in the trace and terminal "+tid+" has no session key in this replay: the PIN cannot be replayed, sent without it")
		default:
			pb, err := card.EncryptPIN(key, c.PIN, c.PAN)
			if err != nil {
				return notes, fmt.Errorf("making a PIN block for card %s: %w", c.Alias, err)
			}
			msg.BinaryField(52, pb)
			notes = append(notes, "the PIN block is masked in the trace: the test PIN of card "+c.Alias+" sent under the new session key")
		}
	}
	return notes, nil
}

// icc makes field 55 anew for a masked one: a new ARQC from the profile's
// issuer master key over the request's amount, currency and type, with
// the next counter.
func (b *rebuilder) icc(c *profile.Card, m *Message) ([]byte, string, error) {
	amount, _ := strconv.ParseInt(m.Field(4), 10, 64)
	cur := m.Field(49)
	if cur == "" {
		cur = "156"
	}
	country := b.prof.CountryCode
	if country == "" {
		country = "156"
	}
	r := card.ICCRequest{Amount: amount, CurrencyCode: fmt.Sprintf("%04s", cur), CountryCode: fmt.Sprintf("%04s", country),
		Date: b.now().Format("060102"), ATC: b.atc, PANSeq: c.PANSeq,
		AIP: [2]byte{0x18, 0x00}, CVR: [4]byte{0x03, 0xA0, 0x00, 0x00}}
	b.atc++
	if r.PANSeq == "" {
		r.PANSeq = "00"
	}
	if p := m.Field(3); len(p) >= 2 {
		if t, err := strconv.ParseUint(p[:2], 16, 8); err == nil {
			r.TxnType = byte(t)
		}
	}
	copy(r.UnpredictableNumber[:], fmt.Sprintf("%04d", b.now().Nanosecond()%10000))
	mk, err := card.DeriveICCMasterKey(b.prof.Keys.IMK(), c.PAN, r.PANSeq)
	if err != nil {
		return nil, "", fmt.Errorf("making ICC data for card %s: %w", c.Alias, err)
	}
	sk, err := card.SessionKey(mk, r.ATC)
	if err != nil {
		return nil, "", fmt.Errorf("making ICC data for card %s: %w", c.Alias, err)
	}
	arqc, err := card.ARQC(sk, card.CDOL1Data(r))
	if err != nil {
		return nil, "", fmt.Errorf("making ICC data for card %s: %w", c.Alias, err)
	}
	return card.BuildICCData(r, arqc), fmt.Sprintf("ICC data is masked in the trace: made anew for card %s with the profile's issuer key (ATC %d)", c.Alias, r.ATC), nil
}

func isLengthOnly(v string) bool {
	return strings.HasPrefix(v, "[") && strings.HasSuffix(v, " bytes]")
}

// cardFor finds the profile card whose PAN shows as masked.
func (b *rebuilder) cardFor(masked string) (profile.Card, bool) {
	for _, alias := range b.prof.CardAliases() {
		c, err := b.prof.Card(alias)
		if err == nil && card.MaskPAN(c.PAN) == masked {
			return c, true
		}
	}
	return profile.Card{}, false
}

// freshen gives the request a new STAN and the current date and time, and
// points field 90 at the new STAN and time of its original.
func (b *rebuilder) freshen(msg *iso8583.Message, m *Message) {
	now := b.now()
	oldSTAN := m.Field(11)
	if oldSTAN != "" {
		stan := fmt.Sprintf("%06d", b.nextSTAN)
		b.nextSTAN = b.nextSTAN%999999 + 1
		b.stans[oldSTAN] = stan
		msg.Field(11, stan)
	}
	if old := m.Field(7); old != "" {
		nt := now.UTC().Format("0102150405")
		b.times[oldSTAN+old] = nt
		msg.Field(7, nt)
	}
	if m.Field(12) != "" {
		msg.Field(12, now.Format("150405"))
	}
	if m.Field(13) != "" {
		msg.Field(13, now.Format("0102"))
	}
	if f90 := m.Field(90); f90 != "" {
		omti, ostan, odt, err := iso.ParseOriginalData(f90)
		if err == nil {
			if ns, ok := b.stans[ostan]; ok {
				if nt, ok := b.times[ostan+odt]; ok {
					odt = nt
				}
				msg.Field(90, iso.OriginalData(omti, ns, odt))
			}
		}
	}
}

// reencrypt puts a captured PIN block under this run's session key: the
// recording's key is read from the recorded sign-on answer with the
// profile's TMK.
func (b *rebuilder) reencrypt(msg *iso8583.Message, tid string) []string {
	oldKey, newKey := b.oldKeys[tid], b.newKeys[tid]
	switch {
	case oldKey == nil:
		return []string{"the PIN block was made under a session key the trace does not hold (no sign-on answer recorded): sent as recorded"}
	case newKey == nil:
		return []string{"terminal " + tid + " has no session key in this replay (no sign-on answered): the PIN block sent as recorded"}
	}
	pb, _ := msg.GetField(52).Bytes()
	pan, _ := msg.GetString(2)
	if pan == "" {
		if t2, _ := msg.GetString(35); t2 != "" {
			if d, err := card.ParseTrack2(t2); err == nil {
				pan = d.PAN
			}
		}
	}
	pin, err := card.DecryptPIN(oldKey, pb, pan)
	if err != nil {
		return []string{"the PIN block does not decrypt under the recorded session key: sent as recorded"}
	}
	npb, err := card.EncryptPIN(newKey, pin, pan)
	if err != nil {
		return []string{"the PIN block could not be made under the new session key: sent as recorded"}
	}
	msg.BinaryField(52, npb)
	ok, _ := card.KCV(oldKey)
	nk, _ := card.KCV(newKey)
	return []string{fmt.Sprintf("PIN block re-encrypted from the recorded session key (kcv %s) to the new one (kcv %s)", ok, nk)}
}

// sessionKey reads field 62 of a sign-on answer (the key under the TMK in
// hex, then its check value) with the profile's TMK.
func (b *rebuilder) sessionKey(f62 string) []byte {
	if len(f62) != 38 {
		return nil
	}
	enc, err := hex.DecodeString(f62[:32])
	if err != nil {
		return nil
	}
	key, err := card.DecryptKey(b.prof.Keys.TMK(), enc)
	if err != nil {
		return nil
	}
	if kcv, err := card.KCV(key); err != nil || !strings.EqualFold(kcv, f62[32:]) {
		return nil
	}
	return key
}

// learn takes what an exchange teaches: the session keys of the recording
// and of this run, and the reference numbers the new host gave.
func (b *rebuilder) learn(rec *Message, got *iso8583.Message) {
	if rec != nil && rec.raw != nil {
		rm := iso8583.NewMessage(b.spec)
		if unpack(rm, rec.raw) == nil {
			if v, _ := rm.GetString(62); v != "" {
				if k := b.sessionKey(v); k != nil {
					b.oldKeys[rec.Field(41)] = k
				}
			}
		}
	}
	if got == nil {
		return
	}
	tid, _ := got.GetString(41)
	if v, _ := got.GetString(62); v != "" {
		if k := b.sessionKey(v); k != nil {
			b.newKeys[tid] = k
		}
	}
	if rec == nil {
		return
	}
	for _, id := range []int{37, 38} {
		old, nv := rec.Field(id), ""
		nv, _ = got.GetString(id)
		if old != "" && nv != "" {
			b.refs[strconv.Itoa(id)+old] = nv
		}
	}
}
