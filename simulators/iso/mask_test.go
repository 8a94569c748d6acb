package iso

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMaskFieldsHidesCardData(t *testing.T) {
	sale := sampleSale()
	m, err := NewMessage(&sale)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Field(62, "00112233445566778899AABBCCDDEEFFA1B2C3"); err != nil {
		t.Fatal(err)
	}
	got := MaskFields(m)
	want := map[string]string{
		"2": "476173******0010", "52": "[8 bytes]", "55": "[11 bytes]",
		"62": "[key under TMK] kcv=A1B2C3",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["0"]; ok {
		t.Errorf("the MTI is in the fields: %v", got)
	}
	if diff := cmp.Diff("000000010000", got["4"]); diff != "" {
		t.Errorf("field 4 (-want +got):\n%s", diff)
	}
}
