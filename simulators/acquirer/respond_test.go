package acquirer

import (
	"bytes"
	"testing"

	"github.com/moov-io/iso8583"

	"github.com/possim/possim/simulators/iso"
)

// TestResponseInPlaceMatchesResponse checks that turning a request into its
// answer packs to the same bytes as building the answer afresh, for a chip
// sale with PIN (fields that must not be echoed) and for a request with an
// echoed field present but empty.
func TestResponseInPlaceMatchesResponse(t *testing.T) {
	h := startHost(t, nil)
	tm := &terminal{t: t, stan: &stanSeq}
	chipSale := tm.sale(visa, 2500)
	chip(t, chipSale, 2500)
	chipSale.PINBlock = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	noCond := tm.sale(visa, 100)
	noCond.ConditionCode = ""
	for name, f := range map[string]*iso.Financial{"chip sale with PIN": chipSale, "no field 25": noCond} {
		t.Run(name, func(t *testing.T) {
			m, err := iso.NewMessage(f)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			packs := make([][]byte, 2)
			for i, build := range []func(*req, string) *iso8583.Message{h.response, h.responseInPlace} {
				m, err := h.reader.unpack(raw)
				if err != nil {
					t.Fatal(err)
				}
				resp := build(h.parse(m, f.MTI), iso.RCApproved)
				resp.Field(37, "112512345678")
				if packs[i], err = resp.Pack(); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(packs[0], packs[1]) {
				t.Errorf("in place:\n%q\nafresh:\n%q", packs[1], packs[0])
			}
			if bytes.Contains(packs[1], []byte(f.PAN)) {
				t.Errorf("the answer carries the PAN: %q", packs[1])
			}
		})
	}
}
