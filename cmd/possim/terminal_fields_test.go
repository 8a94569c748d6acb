package main

import "testing"

// TestTermFieldsNamed: possim terminal -v names every field and says what
// its code means, the PAN masked as the event carries it.
func TestTermFieldsNamed(t *testing.T) {
	got := termFields("0210", map[string]string{"2": "476173******0010", "39": "00", "22": "051", "copy": "merchant"})
	want := "financial response" +
		"\n    2 primary account number = 476173******0010" +
		"\n    22 POS entry mode = 051 (chip, PIN)" +
		"\n    39 response code = 00 (approved)"
	if got != want {
		t.Errorf("termFields:\n%s\nwant:\n%s", got, want)
	}
}
