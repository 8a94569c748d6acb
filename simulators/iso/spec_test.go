package iso

import (
	"bytes"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
)

// Field 55 is ISO 8583:1987 ans..999: its LLL counts the hex characters
// sent, so an 11-byte ICC travels as "022" and 22 characters.
func TestICCLengthCountsHexCharacters(t *testing.T) {
	tests := []struct {
		name    string
		icc     []byte
		want    string // LLL prefix and data on the wire; "" when packing must fail
		wantErr bool
	}{
		{name: "11 bytes", icc: []byte{0x9f, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}, want: "0229F26080102030405060708"},
		{name: "EMV maximum", icc: bytes.Repeat([]byte{0xab}, 255), want: "510" + strings.Repeat("AB", 255)},
		{name: "over the EMV maximum", icc: bytes.Repeat([]byte{0xab}, 256), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := iso8583.NewMessage(Spec87)
			m.MTI(MTIFinancialRequest)
			m.Field(11, "000001")
			m.BinaryField(55, tt.icc)
			packed, err := m.Pack()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("packed %d bytes of ICC data; want an error", len(tt.icc))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(packed, []byte(tt.want)) {
				t.Fatalf("field 55 on the wire: %q; want suffix %q", packed[26:], tt.want)
			}
			back := iso8583.NewMessage(Spec87)
			if err := back.Unpack(packed); err != nil {
				t.Fatal(err)
			}
			if got, _ := back.GetBytes(55); !bytes.Equal(got, tt.icc) {
				t.Errorf("unpacked ICC %X; want %X", got, tt.icc)
			}
		})
	}
}

func TestICCLengthRejectsBadPrefix(t *testing.T) {
	// MTI, a bitmap with only bit 55, then field 55.
	for name, f55 := range map[string]string{
		"odd count":  "0039F2",
		"over 510":   "512" + strings.Repeat("AB", 256),
		"not digits": "0x49F26",
	} {
		back := iso8583.NewMessage(Spec87)
		if err := back.Unpack([]byte("0200" + "0000000000000200" + f55)); err == nil {
			t.Errorf("%s: unpacked %q without error", name, f55)
		}
	}
}
