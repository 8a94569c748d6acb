package iso

import (
	"fmt"

	"github.com/moov-io/iso8583"
)

// Financial is the field set shared by authorisation, financial, advice,
// reversal and batch-upload messages (0100, 0200, 0220, 0320, 0400, 0420
// and their responses). A zero value field is left out of the message.
type Financial struct {
	MTI             string `iso8583:"0"`
	PAN             string `iso8583:"2"`
	ProcessingCode  string `iso8583:"3"`
	Amount          string `iso8583:"4"`  // 12 digits, minor units
	TransmissionDT  string `iso8583:"7"`  // MMDDhhmmss
	STAN            string `iso8583:"11"` // 6 digits
	LocalTime       string `iso8583:"12"` // hhmmss
	LocalDate       string `iso8583:"13"` // MMDD
	Expiry          string `iso8583:"14"` // YYMM
	EntryMode       string `iso8583:"22"`
	CardSeq         string `iso8583:"23"`
	ConditionCode   string `iso8583:"25"`
	Track2          string `iso8583:"35"`
	RRN             string `iso8583:"37"`
	AuthCode        string `iso8583:"38"`
	ResponseCode    string `iso8583:"39"`
	TerminalID      string `iso8583:"41"`
	MerchantID      string `iso8583:"42"`
	AdditionalData  string `iso8583:"48"` // QR payment code for QR payments
	Currency        string `iso8583:"49"`
	PINBlock        []byte `iso8583:"52"`
	AdditionalAmts  string `iso8583:"54"` // partial approval: approved amount
	ICC             []byte `iso8583:"55"`
	Reserved60      string `iso8583:"60"` // batch number (6) + terminal software version
	Private62       string `iso8583:"62"`
	Private63       string `iso8583:"63"`
	OriginalData    string `iso8583:"90"`
	ReplacementAmts string `iso8583:"95"`
}

// Network is a network management message (0800/0810).
type Network struct {
	MTI            string `iso8583:"0"`
	TransmissionDT string `iso8583:"7"`
	STAN           string `iso8583:"11"`
	ResponseCode   string `iso8583:"39"`
	TerminalID     string `iso8583:"41"`
	MerchantID     string `iso8583:"42"`
	Reserved60     string `iso8583:"60"` // terminal software version
	KeyData        string `iso8583:"62"` // session PIN key under the TMK (32 hex) + KCV (6 hex)
	NetworkCode    string `iso8583:"70"`
}

// Reconcile is a reconciliation message (0500/0510): the terminal's batch
// totals, sales as credits (74/86) and refunds as debits (76/88).
type Reconcile struct {
	MTI            string `iso8583:"0"`
	TransmissionDT string `iso8583:"7"`
	STAN           string `iso8583:"11"`
	ResponseCode   string `iso8583:"39"`
	TerminalID     string `iso8583:"41"`
	MerchantID     string `iso8583:"42"`
	Currency       string `iso8583:"49"`
	Batch          string `iso8583:"60"`
	CreditsNumber  int64  `iso8583:"74,keepzero"`
	DebitsNumber   int64  `iso8583:"76,keepzero"`
	CreditsAmount  int64  `iso8583:"86,keepzero"`
	DebitsAmount   int64  `iso8583:"88,keepzero"`
}

// NewMessage builds a possim87 message from one of the typed structs.
func NewMessage(v any) (*iso8583.Message, error) {
	m := iso8583.NewMessage(Spec87)
	if err := m.Marshal(v); err != nil {
		return nil, fmt.Errorf("building message: %w", err)
	}
	return m, nil
}

// Decode fills one of the typed structs from a message.
func Decode(m *iso8583.Message, v any) error {
	if err := m.Unmarshal(v); err != nil {
		return fmt.Errorf("reading message: %w", err)
	}
	return nil
}

// OriginalData builds field 90: original MTI, STAN and transmission date
// and time, then acquiring and forwarding institution IDs (zeros here).
func OriginalData(mti, stan, transmissionDT string) string {
	return fmt.Sprintf("%-4s%06s%010s%011d%011d", mti, stan, transmissionDT, 0, 0)
}

// ParseOriginalData splits field 90 into the original MTI, STAN and
// transmission date-time.
func ParseOriginalData(s string) (mti, stan, transmissionDT string, err error) {
	if len(s) != 42 {
		return "", "", "", fmt.Errorf("field 90: want 42 digits, got %d", len(s))
	}
	return s[0:4], s[4:10], s[10:20], nil
}
