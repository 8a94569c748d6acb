package iso

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// SpecNAC is possim's field set packed as POS networks behind a NAC pack
// it: numeric fields as BCD (two digits a byte, an odd length padded with
// a leading 0 nibble), variable lengths as BCD, an 8-byte binary bitmap,
// PIN block and ICC data as raw bytes, track 2 as BCD with 0xD for '='.
// Text fields (RRN, auth code, response code, IDs, currency, 48, 60-63)
// stay ASCII.
var SpecNAC = newBCDSpec("nac")

// SpecCUP is SpecNAC as UnionPay terminals pack it: the same layout, the
// private fields 60, 62 and 63 as LLL variables (docs/dialects.md says
// where possim simplifies their content).
var SpecCUP = newBCDSpec("cup")

func newBCDSpec(name string) *iso8583.MessageSpec {
	n := func(length int, desc string) field.Field {
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: strictBCD, Pref: prefix.BCD.Fixed})
	}
	nv := func(length int, desc string, pref prefix.Prefixer) field.Field {
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: strictBCD, Pref: pref})
	}
	num := func(length int, desc string) field.Field {
		return field.NewNumeric(&field.Spec{Length: length, Description: desc, Enc: strictBCD, Pref: prefix.BCD.Fixed, Pad: padding.Left('0')})
	}
	an := func(length int, desc string, pref prefix.Prefixer) field.Field {
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: encoding.ASCII, Pref: pref})
	}
	b := func(length int, desc string, pref prefix.Prefixer) field.Field {
		return field.NewBinary(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: pref})
	}
	f := map[int]field.Field{
		0:   n(4, "Message Type Indicator"),
		1:   field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary, Pref: prefix.Binary.Fixed}),
		2:   nv(19, "Primary Account Number", bcdLL),
		3:   n(6, "Processing Code"),
		4:   n(12, "Transaction Amount"),
		7:   n(10, "Transmission Date & Time"),
		11:  n(6, "Systems Trace Audit Number (STAN)"),
		12:  n(6, "Local Transaction Time"),
		13:  n(4, "Local Transaction Date"),
		14:  n(4, "Expiration Date"),
		22:  n(3, "Point of Service Entry Mode"),
		23:  n(3, "Card Sequence Number"),
		25:  n(2, "Point of Service Condition Code"),
		35:  field.NewString(&field.Spec{Length: 37, Description: "Track 2 Data", Enc: track2BCD, Pref: bcdLL}),
		37:  an(12, "Retrieval Reference Number", prefix.ASCII.Fixed),
		38:  an(6, "Authorization Identification Response", prefix.ASCII.Fixed),
		39:  an(2, "Response Code", prefix.ASCII.Fixed),
		41:  an(8, "Card Acceptor Terminal Identification", prefix.ASCII.Fixed),
		42:  an(15, "Card Acceptor Identification Code", prefix.ASCII.Fixed),
		48:  an(999, "Additional Data - Private", bcdLLL),
		49:  an(3, "Transaction Currency Code", prefix.ASCII.Fixed), // a3 in 1987; jPOS's ISO87BPackager sends text too
		52:  b(8, "PIN Data", prefix.Binary.Fixed),
		53:  n(16, "Security Related Control Information"), // the host's key change request
		54:  an(120, "Additional Amounts", bcdLLL),
		55:  b(255, "ICC Data", bcdLLL),
		60:  an(999, "Reserved Private", bcdLLL),
		62:  an(999, "Reserved Private", bcdLLL),
		63:  an(999, "Reserved Private", bcdLLL),
		64:  b(8, "Message Authentication Code (MAC)", prefix.Binary.Fixed),
		70:  n(3, "Network Management Information Code"),
		74:  num(10, "Credits, Number"),
		76:  num(10, "Debits, Number"),
		86:  num(16, "Credits, Amount"),
		88:  num(16, "Debits, Amount"),
		90:  n(42, "Original Data Elements"),
		95:  an(42, "Replacement Amounts", prefix.ASCII.Fixed),
		128: b(8, "Message Authentication Code", prefix.Binary.Fixed),
	}
	if name == "cup" {
		// UnionPay's 62 is b...512: on sign-on the session keys as bytes.
		// possim's value stays the hex text the host and terminal use.
		f[62] = field.NewString(&field.Spec{Length: 1024, Description: "Reserved Private (session keys)", Enc: hexBytes, Pref: bytesOf{bcdLLL}})
	}
	return &iso8583.MessageSpec{Name: name, Fields: f}
}

// hexBytes packs a hex-text value as the bytes it spells and reads them
// back as upper-case hex: a binary field whose typed value is text.
var hexBytes encoding.Encoder = hexBytesCodec{}

type hexBytesCodec struct{}

func (hexBytesCodec) Encode(src []byte) ([]byte, error) {
	out := make([]byte, hex.DecodedLen(len(src)))
	if _, err := hex.Decode(out, src); err != nil {
		return nil, fmt.Errorf("binary field: %w", err)
	}
	return out, nil
}

func (hexBytesCodec) Decode(src []byte, length int) ([]byte, int, error) {
	n := length / 2
	if length%2 != 0 || n > len(src) {
		return nil, 0, fmt.Errorf("binary field: %d hex characters need %d bytes, %d left", length, (length+1)/2, len(src))
	}
	return []byte(strings.ToUpper(hex.EncodeToString(src[:n]))), n, nil
}

// bytesOf is a length prefix that counts bytes on the wire for a value
// held as hex text (two characters a byte).
type bytesOf struct{ p prefix.Prefixer }

func (b bytesOf) EncodeLength(maxLen, length int) ([]byte, error) {
	if length%2 != 0 {
		return nil, fmt.Errorf("binary field: odd number (%d) of hex characters", length)
	}
	return b.p.EncodeLength(maxLen/2, length/2)
}

func (b bytesOf) DecodeLength(maxLen int, data []byte) (int, int, error) {
	n, read, err := b.p.DecodeLength(maxLen/2, data)
	return 2 * n, read, err
}

func (b bytesOf) Inspect() string { return b.p.Inspect() }

// strictBCD is moov's BCD with the checks a host makes: a nibble above 9,
// or a non-zero pad nibble in front of an odd number of digits, is a
// format error rather than a digit silently made up or dropped.
var strictBCD encoding.Encoder = bcdCodec{}

type bcdCodec struct{}

func (bcdCodec) Encode(src []byte) ([]byte, error) {
	odd := len(src) % 2
	out := make([]byte, (len(src)+1)/2)
	for i, c := range src {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("BCD: character %q at %d is not a digit", c, i)
		}
		k := i + odd // position in the padded digit string
		if k%2 == 0 {
			out[k/2] = (c - '0') << 4
		} else {
			out[k/2] |= c - '0'
		}
	}
	return out, nil
}

func (bcdCodec) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("BCD: negative length %d", length)
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("BCD: %d digits need %d bytes, %d left", length, read, len(src))
	}
	out := make([]byte, 0, length)
	for i, b := range src[:read] {
		hi, lo := b>>4, b&0x0f
		if i == 0 && length%2 == 1 {
			if hi != 0 {
				return nil, 0, fmt.Errorf("BCD: odd-length field (%d digits) has pad nibble %X, want 0", length, hi)
			}
		} else if hi > 9 {
			return nil, 0, fmt.Errorf("BCD: nibble %X above 9 in byte %d of the field", hi, i)
		} else {
			out = append(out, '0'+hi)
		}
		if lo > 9 {
			return nil, 0, fmt.Errorf("BCD: nibble %X above 9 in byte %d of the field", lo, i)
		}
		out = append(out, '0'+lo)
	}
	return out, read, nil
}

// track2BCD packs track 2 equivalent data (z): digits and the separator
// '=' as nibble D, left-aligned, an odd count padded with a trailing F.
var track2BCD encoding.Encoder = track2Codec{}

type track2Codec struct{}

func (track2Codec) Encode(src []byte) ([]byte, error) {
	out := make([]byte, (len(src)+1)/2)
	for i := range out {
		out[i] = 0xff
	}
	for i, c := range src {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c == '=' || c == 'D' || c == 'd':
			v = 0xd
		default:
			return nil, fmt.Errorf("track 2: character %q at %d is neither a digit nor '='", c, i)
		}
		if i%2 == 0 {
			out[i/2] = v<<4 | 0x0f
		} else {
			out[i/2] = out[i/2]&0xf0 | v
		}
	}
	return out, nil
}

func (track2Codec) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("track 2: negative length %d", length)
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("track 2: %d characters need %d bytes, %d left", length, read, len(src))
	}
	out := make([]byte, length)
	for i := range out {
		v := src[i/2] >> 4
		if i%2 == 1 {
			v = src[i/2] & 0x0f
		}
		switch {
		case v <= 9:
			out[i] = '0' + v
		case v == 0xd:
			out[i] = '='
		default:
			return nil, 0, fmt.Errorf("track 2: nibble %X in byte %d is neither a digit nor the separator D", v, i/2)
		}
	}
	if length%2 == 1 {
		if p := src[read-1] & 0x0f; p != 0x0f && p != 0 {
			return nil, 0, fmt.Errorf("track 2: pad nibble %X, want F", p)
		}
	}
	return out, read, nil
}

// bcdLL and bcdLLL are BCD length prefixes (1 and 2 bytes). moov's build
// its BCD tables on every call, which made a BCD message cost ten times a
// possim87 one; these decode the nibbles directly.
var (
	bcdLL  prefix.Prefixer = bcdVarPrefixer{digits: 2}
	bcdLLL prefix.Prefixer = bcdVarPrefixer{digits: 3}
)

type bcdVarPrefixer struct{ digits int }

func (p bcdVarPrefixer) EncodeLength(maxLen, dataLen int) ([]byte, error) {
	if dataLen > maxLen {
		return nil, fmt.Errorf("field length %d above the maximum %d", dataLen, maxLen)
	}
	if p.digits == 2 {
		if dataLen > 99 {
			return nil, fmt.Errorf("length %d does not fit 2 digits", dataLen)
		}
		return []byte{byte(dataLen/10)<<4 | byte(dataLen%10)}, nil
	}
	if dataLen > 999 {
		return nil, fmt.Errorf("length %d does not fit 3 digits", dataLen)
	}
	return []byte{byte(dataLen / 100), byte(dataLen/10%10)<<4 | byte(dataLen%10)}, nil
}

func (p bcdVarPrefixer) DecodeLength(maxLen int, data []byte) (int, int, error) {
	size := (p.digits + 1) / 2
	if len(data) < size {
		return 0, 0, fmt.Errorf("length prefix needs %d bytes, %d left", size, len(data))
	}
	n := 0
	for i, b := range data[:size] {
		hi, lo := b>>4, b&0x0f
		if i == 0 && p.digits%2 == 1 {
			if hi != 0 {
				return 0, 0, fmt.Errorf("BCD length % x: pad nibble %X, want 0", data[:size], hi)
			}
		} else if hi > 9 {
			return 0, 0, fmt.Errorf("BCD length % x: nibble %X above 9", data[:size], hi)
		}
		if lo > 9 {
			return 0, 0, fmt.Errorf("BCD length % x: nibble %X above 9", data[:size], lo)
		}
		n = n*100 + int(hi)*10 + int(lo)
	}
	if n > maxLen {
		return 0, 0, fmt.Errorf("length %d above the maximum %d", n, maxLen)
	}
	return n, size, nil
}

// Inspect names the prefix as moov's own, so an exported spec reads back.
func (p bcdVarPrefixer) Inspect() string {
	if p.digits == 2 {
		return "BCD.LL"
	}
	return "BCD.LLL"
}
