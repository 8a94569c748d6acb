package iso

// Message type indicators of the possim87 catalogue (docs/host.md).
const (
	MTIAuthRequest          = "0100"
	MTIAuthResponse         = "0110"
	MTIFinancialRequest     = "0200"
	MTIFinancialResponse    = "0210"
	MTIAdvice               = "0220"
	MTIAdviceRepeat         = "0221"
	MTIAdviceResponse       = "0230"
	MTIBatchUpload          = "0320"
	MTIBatchUploadResponse  = "0330"
	MTIReversal             = "0400"
	MTIReversalRepeat       = "0401"
	MTIReversalResponse     = "0410"
	MTIReversalAdvice       = "0420"
	MTIReversalAdviceRepeat = "0421"
	MTIReversalAdviceResp   = "0430"
	MTIReconcile            = "0500"
	MTIReconcileResponse    = "0510"
	MTINetworkRequest       = "0800"
	MTINetworkResponse      = "0810"
)

// ResponseMTI is the response MTI for a request MTI: the third digit moves
// to the next response class (0200 -> 0210, 0401 -> 0410, 0221 -> 0230).
func ResponseMTI(req string) string {
	if len(req) != 4 {
		return req
	}
	b := []byte(req)
	switch b[2] {
	case '0', '2', '4', '6', '8':
		b[2]++
	}
	b[3] = '0'
	return string(b)
}

// Processing codes (field 3).
const (
	ProcPurchase       = "000000"
	ProcVoid           = "020000"
	ProcRefund         = "200000"
	ProcBalanceInquiry = "310000"
	ProcPreAuth        = "030000"
	ProcQRPurchase     = "000000"
)

// Network management information codes (field 70).
const (
	NetSignOn    = "001"
	NetSignOff   = "002"
	NetKeyChange = "101"
	NetEcho      = "301"
)

// POS entry modes (field 22): the first two digits say how the PAN was
// read, the third whether the terminal can take a PIN.
const (
	EntryManual      = "01"
	EntryQR          = "03"
	EntryChip        = "05"
	EntryContactless = "07"
	EntryFallback    = "80"
	EntrySwipe       = "90"
)

// Response codes (field 39) the host produces, with the text a terminal shows.
const (
	RCApproved           = "00"
	RCInvalidMerchant    = "03"
	RCDoNotHonour        = "05"
	RCPartialApproval    = "10"
	RCInvalidTransaction = "12"
	RCInvalidAmount      = "13"
	RCInvalidCard        = "14"
	RCOriginalNotFound   = "25"
	RCFormatError        = "30"
	RCLostCard           = "41"
	RCStolenCard         = "43"
	RCInsufficientFunds  = "51"
	RCExpiredCard        = "54"
	RCIncorrectPIN       = "55"
	RCNotPermittedCard   = "57"
	RCNotPermittedTerm   = "58"
	RCOverAmountLimit    = "61"
	RCSecurityViolation  = "63"
	RCOverFrequency      = "65"
	RCPINTriesExceeded   = "75"
	RCHostUnavailable    = "91"
	RCDuplicate          = "94"
	RCReconcileError     = "95"
	RCSystemError        = "96"
)

var responseText = map[string]string{
	RCApproved:           "APPROVED",
	RCInvalidMerchant:    "INVALID MERCHANT",
	RCDoNotHonour:        "DO NOT HONOUR",
	RCPartialApproval:    "PARTIAL APPROVAL",
	RCInvalidTransaction: "INVALID TRANSACTION",
	RCInvalidAmount:      "INVALID AMOUNT",
	RCInvalidCard:        "INVALID CARD NUMBER",
	RCOriginalNotFound:   "ORIGINAL NOT FOUND",
	RCFormatError:        "FORMAT ERROR",
	RCLostCard:           "LOST CARD - PICK UP",
	RCStolenCard:         "STOLEN CARD - PICK UP",
	RCInsufficientFunds:  "INSUFFICIENT FUNDS",
	RCExpiredCard:        "EXPIRED CARD",
	RCIncorrectPIN:       "INCORRECT PIN",
	RCNotPermittedCard:   "NOT PERMITTED TO CARDHOLDER",
	RCNotPermittedTerm:   "NOT PERMITTED TO TERMINAL",
	RCOverAmountLimit:    "EXCEEDS AMOUNT LIMIT",
	RCSecurityViolation:  "SECURITY VIOLATION",
	RCOverFrequency:      "EXCEEDS FREQUENCY LIMIT",
	RCPINTriesExceeded:   "PIN TRIES EXCEEDED",
	RCHostUnavailable:    "HOST UNAVAILABLE",
	RCDuplicate:          "DUPLICATE TRANSMISSION",
	RCReconcileError:     "RECONCILE ERROR",
	RCSystemError:        "SYSTEM MALFUNCTION",
}

// ResponseText is the display text for a response code.
func ResponseText(code string) string {
	if t, ok := responseText[code]; ok {
		return t
	}
	return "DECLINED (" + code + ")"
}

// ResponseCodes lists every code the host produces, in numeric order.
func ResponseCodes() []string {
	return []string{"00", "03", "05", "10", "12", "13", "14", "25", "30", "41", "43", "51", "54", "55", "57", "58", "61", "65", "75", "91", "94", "95", "96"}
}
