package iso

// What the codes of fields 3, 22 and 70 mean, for people reading a trace.
// The response codes of field 39 are in codes.go (ResponseText).

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
	'1': "terminal can take a PIN",
	'2': "terminal cannot take a PIN",
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
