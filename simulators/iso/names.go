package iso

import (
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
)

// What fields are called and what the codes of fields 3, 22, 39 and 70
// mean, for people reading a trace, a report or the dashboard. The
// response codes of field 39 are in codes.go (ResponseText).

var processingMeaning = map[string]string{
	ProcPurchase:       "purchase",
	ProcVoid:           "void",
	ProcRefund:         "refund",
	ProcBalanceInquiry: "balance inquiry",
	ProcPreAuth:        "pre-authorisation",
}

// ProcessingMeaning says what a processing code (field 3) asks for: the
// first two digits are the transaction type. It is "" for a type possim87
// does not use.
func ProcessingMeaning(code string) string {
	if m, ok := processingMeaning[code]; ok {
		return m
	}
	if len(code) == 6 {
		for c, m := range processingMeaning {
			if c[:2] == code[:2] {
				return m + " (accounts " + code[2:4] + "/" + code[4:] + ")"
			}
		}
	}
	return ""
}

var entryMeaning = map[string]string{
	EntryManual:      "manual key entry",
	EntryQR:          "QR / bar code",
	EntryChip:        "chip",
	EntryContactless: "contactless",
	EntryFallback:    "magnetic stripe after chip failure (fallback)",
	EntrySwipe:       "magnetic stripe",
}

var pinCapability = map[byte]string{
	'0': "PIN capability unknown",
	'1': "PIN",
	'2': "no PIN",
}

// EntryModeMeaning says how the PAN was read and whether the terminal can
// take a PIN, from a POS entry mode (field 22). It is "" when the first
// two digits are not a mode possim87 knows.
func EntryModeMeaning(mode string) string {
	if len(mode) < 2 {
		return ""
	}
	m, ok := entryMeaning[mode[:2]]
	if !ok {
		return ""
	}
	if len(mode) >= 3 {
		if p, ok := pinCapability[mode[2]]; ok {
			m += ", " + p
		}
	}
	return m
}

var networkMeaning = map[string]string{
	NetSignOn:    "sign-on",
	NetSignOff:   "sign-off",
	NetKeyChange: "key change",
	NetEcho:      "echo test",
}

// NetworkMeaning says what a network management information code (field
// 70) asks for; "" for one possim87 does not use.
func NetworkMeaning(code string) string { return networkMeaning[code] }

var reversalReason = map[string]string{
	"06": "reversal: error, or the merchant did not accept",
	"17": "reversal: cancelled by the customer",
	"68": "reversal: response received too late",
	"98": "reversal: no response from the host",
}

// ReversalReasonMeaning says why a reversal was sent, from the field 39 a
// terminal puts in a 0400; "" for a code possim87 does not use.
func ReversalReasonMeaning(code string) string { return reversalReason[code] }

// FieldName is what field n is called, for people: the description the
// spec gives it, in lower case but for its acronyms, with "Point of
// Service" shortened to POS ("response code", "POS entry mode"). It is
// "field N" for a field the spec does not describe.
func FieldName(n int) string {
	f, ok := Spec87.Fields[n]
	if !ok || f.Spec() == nil || f.Spec().Description == "" {
		return "field " + strconv.Itoa(n)
	}
	d := strings.ReplaceAll(f.Spec().Description, "Point of Service", "POS")
	words := strings.Fields(d)
	for i, w := range words {
		if strings.ToUpper(w) != w && !strings.HasPrefix(w, "(") {
			words[i] = strings.ToLower(w)
		}
	}
	return strings.Join(words, " ")
}

// FieldMeaning says what value v of field n means in a message of type
// mti, or "" when possim87 gives it no meaning. Field 39 of a request (a
// reversal) is why it was sent; of a response, the host's answer.
func FieldMeaning(mti string, n int, v string) string {
	m := CodeMeaning(mti, n, v)
	if n == 39 && IsResponse(mti) {
		return strings.ToLower(m)
	}
	return m
}

// CodeMeaning is FieldMeaning with a response code's text spelled as
// ResponseText spells it ("APPROVED", "DECLINED (12)"): the tables of a
// trace, a test's exchange and a certification log show it so.
func CodeMeaning(mti string, n int, v string) string {
	switch n {
	case 3:
		return ProcessingMeaning(v)
	case 22:
		return EntryModeMeaning(v)
	case 39:
		if !IsResponse(mti) {
			return ReversalReasonMeaning(v)
		}
		return ResponseText(v)
	case 70:
		return NetworkMeaning(v)
	}
	return ""
}

// SpecFieldName is what spec calls field n, spelled as the spec spells it
// ("Processing Code"), for the tables that show the spec's own names: a
// trace, a test's exchange, a certification log. It is "Field N" for a
// field spec does not describe; FieldName is the form for sentences.
func SpecFieldName(spec *iso8583.MessageSpec, n int) string {
	if f, ok := spec.Fields[n]; ok && f.Spec() != nil && f.Spec().Description != "" {
		return f.Spec().Description
	}
	return "Field " + strconv.Itoa(n)
}

// IsResponse says whether mti is a response: its third digit is odd
// (0110, 0210, 0410, 0810).
func IsResponse(mti string) bool {
	return len(mti) == 4 && mti[2] >= '0' && mti[2] <= '9' && (mti[2]-'0')%2 == 1
}

// DescribeField is one field as people read it: number, name, value and
// what the value means, "39 response code = 00 (approved)". v must
// already be masked: it is shown as given.
func DescribeField(mti string, n int, v string) string {
	s := strconv.Itoa(n) + " " + FieldName(n) + " = " + v
	if m := FieldMeaning(mti, n, v); m != "" {
		s += " (" + m + ")"
	}
	return s
}

var mtiName = map[string]string{
	MTIAuthRequest:          "authorisation request",
	MTIAuthResponse:         "authorisation response",
	MTIFinancialRequest:     "financial request",
	MTIFinancialResponse:    "financial response",
	MTIAdvice:               "advice",
	MTIAdviceRepeat:         "advice repeat",
	MTIAdviceResponse:       "advice response",
	MTIBatchUpload:          "batch upload",
	MTIBatchUploadResponse:  "batch upload response",
	MTIReversal:             "reversal",
	MTIReversalRepeat:       "reversal repeat",
	MTIReversalResponse:     "reversal response",
	MTIReversalAdvice:       "reversal advice",
	MTIReversalAdviceRepeat: "reversal advice repeat",
	MTIReversalAdviceResp:   "reversal advice response",
	MTIReconcile:            "reconciliation request",
	MTIReconcileResponse:    "reconciliation response",
	MTINetworkRequest:       "network management request",
	MTINetworkResponse:      "network management response",
}

// MTIName says what a message type is ("financial request" for 0200); ""
// for one possim87 does not use.
func MTIName(mti string) string { return mtiName[mti] }

// Glossary is every field name and code meaning possim87 knows, for a
// client that names fields itself (the dashboard's script): the same
// tables FieldName and FieldMeaning read.
type Glossary struct {
	Fields map[int]string    `json:"fields"`
	MTIs   map[string]string `json:"mtis"`
	// Codes are the meanings of fields 3, 22, 39 (in a response) and 70
	// by field number and value.
	Codes map[int]map[string]string `json:"codes"`
	// Reversal is field 39 of a request: why a reversal was sent.
	Reversal map[string]string `json:"reversal"`
}

// NewGlossary builds the Glossary.
func NewGlossary() Glossary {
	g := Glossary{Fields: map[int]string{}, MTIs: map[string]string{}, Reversal: map[string]string{},
		Codes: map[int]map[string]string{3: {}, 22: {}, 39: {}, 70: {}}}
	for n := range Spec87.Fields {
		if n > 1 {
			g.Fields[n] = FieldName(n)
		}
	}
	for k, v := range mtiName {
		g.MTIs[k] = v
	}
	for k, v := range processingMeaning {
		g.Codes[3][k] = v
	}
	for mode := range entryMeaning {
		for pin := range pinCapability {
			code := mode + string(pin)
			g.Codes[22][code] = EntryModeMeaning(code)
		}
	}
	for _, code := range ResponseCodes() {
		g.Codes[39][code] = FieldMeaning(MTIFinancialResponse, 39, code)
	}
	for k, v := range networkMeaning {
		g.Codes[70][k] = v
	}
	for k, v := range reversalReason {
		g.Reversal[k] = v
	}
	return g
}
