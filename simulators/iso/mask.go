package iso

import (
	"sort"
	"strconv"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/card"
)

// MaskFields returns the message's fields 2 and up as strings keyed by
// number, card data masked as every trace masks it: the PAN as
// 476173******0010, fields 35, 36, 45, 52 and 55 as "[n bytes]", a QR
// payment code in 48 and the key block of 62 with only its check value.
// The MTI and the bitmap are left out: an event carries the MTI apart.
// It lives here, beside the codec, so the host, the proxy and the trace
// tools mask alike without importing one another.
func MaskFields(m *iso8583.Message) map[string]string {
	fields := m.GetFields()
	out := make(map[string]string, len(fields))
	ids := make([]int, 0, len(fields))
	for id := range fields {
		if id > 1 {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	for _, id := range ids {
		f := fields[id]
		switch id {
		case 35, 36, 45, 52, 55:
			b, _ := f.Bytes()
			out[strconv.Itoa(id)] = "[" + strconv.Itoa(len(b)) + " bytes]"
			continue
		}
		s, err := f.String()
		if err != nil {
			continue
		}
		switch id {
		case 2:
			s = card.MaskPAN(s)
		case 48:
			if len(s) >= 12 && allDigits(s) {
				s = card.MaskPaymentCode(s)
			}
		case 62:
			if len(s) == 38 {
				s = "[key under TMK] kcv=" + s[32:]
			}
		}
		out[strconv.Itoa(id)] = s
	}
	return out
}
