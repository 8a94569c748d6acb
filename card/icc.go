package card

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// EMV tags used in field 55.
const (
	TagAmount          = 0x9F02
	TagAmountOther     = 0x9F03
	TagCountryCode     = 0x9F1A
	TagTVR             = 0x95
	TagCurrencyCode    = 0x5F2A
	TagDate            = 0x9A
	TagTxnType         = 0x9C
	TagUnpredictable   = 0x9F37
	TagAIP             = 0x82
	TagATC             = 0x9F36
	TagIAD             = 0x9F10
	TagPANSeq          = 0x5F34
	TagAppCryptogram   = 0x9F26
	TagCryptogramInfo  = 0x9F27
	TagIssuerAuthData  = 0x91
	TagTrack2Equiv     = 0x57
	TagPAN             = 0x5A
	TagExpiry          = 0x5F24
	TagCardholderName  = 0x5F20
	TagServiceCode     = 0x5F30
	CryptogramInfoARQC = 0x80
)

// iadPrefix is the issuer application data before the CVR, Visa CVN 18
// layout: length 06, derivation key index 01, cryptogram version 0x12.
var iadPrefix = [3]byte{0x06, 0x01, 0x12}

// ICCRequest is the transaction data the card's ARQC covers: what the
// terminal sends in GENERATE AC plus the card's own counters.
type ICCRequest struct {
	Amount, AmountOther       int64  // minor units, n12
	CountryCode, CurrencyCode string // ISO 3166 / 4217 numeric, "0156"
	Date                      string // YYMMDD
	TxnType                   byte   // 9C as on the wire: 0x00 purchase, 0x20 refund
	UnpredictableNumber       [4]byte
	TVR                       [5]byte
	AIP                       [2]byte
	ATC                       uint16
	PANSeq                    string // "01"; empty counts as "00"
	CVR                       [4]byte
}

// IAD returns the issuer application data (tag 9F10): 06 01 12 || CVR.
func (r ICCRequest) IAD() []byte {
	return append(iadPrefix[:], r.CVR[:]...)
}

// CDOL1Data returns the data the ARQC is computed over, in this order
// (the EMV Book 2 recommended minimum set, Visa CVN 18 layout):
//
//	9F02 amount (6)  9F03 amount other (6)  9F1A country (2)  95 TVR (5)
//	5F2A currency (2)  9A date (3)  9C type (1)  9F37 unpredictable number (4)
//	82 AIP (2)  9F36 ATC (2)  9F10 IAD (7: 06 01 12 CVR)
//
// Amounts outside 0..999999999999 encode as zero (and so fail verification).
func CDOL1Data(r ICCRequest) []byte {
	out := make([]byte, 0, 40)
	out = append(out, bcdAmount(r.Amount)...)
	out = append(out, bcdAmount(r.AmountOther)...)
	out = append(out, bcdDigits(r.CountryCode, 2)...)
	out = append(out, r.TVR[:]...)
	out = append(out, bcdDigits(r.CurrencyCode, 2)...)
	out = append(out, bcdDigits(r.Date, 3)...)
	out = append(out, r.TxnType)
	out = append(out, r.UnpredictableNumber[:]...)
	out = append(out, r.AIP[:]...)
	out = append(out, byte(r.ATC>>8), byte(r.ATC))
	return append(out, r.IAD()...)
}

// BuildICCData returns the field 55 TLV for an online authorisation.
func BuildICCData(r ICCRequest, arqc []byte) []byte {
	seq := r.PANSeq
	if seq == "" {
		seq = "00"
	}
	return EncodeTLV(
		TLV{TagAmount, bcdAmount(r.Amount)},
		TLV{TagAmountOther, bcdAmount(r.AmountOther)},
		TLV{TagCountryCode, bcdDigits(r.CountryCode, 2)},
		TLV{TagTVR, r.TVR[:]},
		TLV{TagCurrencyCode, bcdDigits(r.CurrencyCode, 2)},
		TLV{TagDate, bcdDigits(r.Date, 3)},
		TLV{TagTxnType, []byte{r.TxnType}},
		TLV{TagUnpredictable, r.UnpredictableNumber[:]},
		TLV{TagAIP, r.AIP[:]},
		TLV{TagATC, []byte{byte(r.ATC >> 8), byte(r.ATC)}},
		TLV{TagIAD, r.IAD()},
		TLV{TagPANSeq, bcdDigits(seq, 1)},
		TLV{TagAppCryptogram, arqc},
		TLV{TagCryptogramInfo, []byte{CryptogramInfoARQC}},
	)
}

// ICCDataError reports a field 55 that lacks a tag or holds a bad value.
type ICCDataError struct {
	Tag    uint32
	Reason string
}

func (e *ICCDataError) Error() string {
	return fmt.Sprintf("card: ICC data tag %X: %s", e.Tag, e.Reason)
}

// ParseICCData decodes field 55 as built by BuildICCData and returns the
// request and the ARQC (9F26). 5F34 may be absent ("00").
func ParseICCData(b []byte) (ICCRequest, []byte, error) {
	var r ICCRequest
	items, err := ParseTLV(b)
	if err != nil {
		return r, nil, err
	}
	get := func(tag uint32, n int) ([]byte, error) {
		v, ok := FindTag(items, tag)
		if !ok {
			return nil, &ICCDataError{Tag: tag, Reason: "missing"}
		}
		if len(v) != n {
			return nil, &ICCDataError{Tag: tag, Reason: fmt.Sprintf("length %d, want %d", len(v), n)}
		}
		return v, nil
	}
	var v []byte
	if v, err = get(TagAmount, 6); err != nil {
		return r, nil, err
	}
	if r.Amount, err = parseBCDAmount(TagAmount, v); err != nil {
		return r, nil, err
	}
	if v, err = get(TagAmountOther, 6); err != nil {
		return r, nil, err
	}
	if r.AmountOther, err = parseBCDAmount(TagAmountOther, v); err != nil {
		return r, nil, err
	}
	if v, err = get(TagCountryCode, 2); err != nil {
		return r, nil, err
	}
	r.CountryCode = strings.ToUpper(hex.EncodeToString(v))
	if v, err = get(TagTVR, 5); err != nil {
		return r, nil, err
	}
	copy(r.TVR[:], v)
	if v, err = get(TagCurrencyCode, 2); err != nil {
		return r, nil, err
	}
	r.CurrencyCode = strings.ToUpper(hex.EncodeToString(v))
	if v, err = get(TagDate, 3); err != nil {
		return r, nil, err
	}
	r.Date = strings.ToUpper(hex.EncodeToString(v))
	if v, err = get(TagTxnType, 1); err != nil {
		return r, nil, err
	}
	r.TxnType = v[0]
	if v, err = get(TagUnpredictable, 4); err != nil {
		return r, nil, err
	}
	copy(r.UnpredictableNumber[:], v)
	if v, err = get(TagAIP, 2); err != nil {
		return r, nil, err
	}
	copy(r.AIP[:], v)
	if v, err = get(TagATC, 2); err != nil {
		return r, nil, err
	}
	r.ATC = uint16(v[0])<<8 | uint16(v[1])
	if v, err = get(TagIAD, 7); err != nil {
		return r, nil, err
	}
	if [3]byte(v[:3]) != iadPrefix {
		return r, nil, &ICCDataError{Tag: TagIAD, Reason: "unsupported issuer application data (want 06 01 12 and CVR)"}
	}
	copy(r.CVR[:], v[3:])
	r.PANSeq = "00"
	if v, ok := FindTag(items, TagPANSeq); ok {
		if len(v) != 1 {
			return r, nil, &ICCDataError{Tag: TagPANSeq, Reason: "length must be 1"}
		}
		r.PANSeq = strings.ToUpper(hex.EncodeToString(v))
		if !isDigits(r.PANSeq) {
			return r, nil, &ICCDataError{Tag: TagPANSeq, Reason: "not BCD"}
		}
	}
	arqc, err := get(TagAppCryptogram, 8)
	if err != nil {
		return r, nil, err
	}
	return r, arqc, nil
}

// bcdDigits packs a decimal string into n bytes of BCD, left-padded with
// zeros; non-digits pack as zero so a bad input still yields n bytes.
func bcdDigits(s string, n int) []byte {
	if len(s) > 2*n {
		s = s[len(s)-2*n:]
	}
	s = strings.Repeat("0", 2*n-len(s)) + s
	out := make([]byte, n)
	for i := range out {
		out[i] = digit(s[2*i])<<4 | digit(s[2*i+1])
	}
	return out
}

func digit(c byte) byte {
	if c < '0' || c > '9' {
		return 0
	}
	return c - '0'
}

func bcdAmount(a int64) []byte {
	if a < 0 || a > 999_999_999_999 {
		a = 0
	}
	return bcdDigits(fmt.Sprintf("%012d", a), 6)
}

func parseBCDAmount(tag uint32, v []byte) (int64, error) {
	var a int64
	for _, b := range v {
		hi, lo := b>>4, b&0xF
		if hi > 9 || lo > 9 {
			return 0, &ICCDataError{Tag: tag, Reason: "amount is not BCD"}
		}
		a = a*100 + int64(hi)*10 + int64(lo)
	}
	return a, nil
}
