package trace

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/possim/possim/simulators/iso"
)

// TestHexDumpDialect: a hex dump of nac frames reads with and without the
// length header, the TPDU kept with each message; a line whose TPDU ID is
// wrong still decodes, with a note saying so.
func TestHexDumpDialect(t *testing.T) {
	d, err := iso.LoadDialect("nac")
	if err != nil {
		t.Fatal(err)
	}
	m := d.NewMessage()
	m.MTI("0200")
	for id, v := range map[int]string{2: "4761739001010010", 4: "000000000900", 11: "000042", 41: "TERM0001"} {
		if err := m.Field(id, v); err != nil {
			t.Fatal(err)
		}
	}
	packed, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	frame, err := d.AppendFrame(nil, iso.Envelope{TPDU: []byte{0x60, 0, 5, 0, 0}}, packed)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{0x61}, frame[3:]...) // no length, TPDU ID 61
	dump := "IN " + hex.EncodeToString(frame) + "\n" +
		"2026-11-30T12:00:00Z > " + hex.EncodeToString(frame[2:]) + "\n" +
		hex.EncodeToString(bad) + "\n"
	tr, err := Read(strings.NewReader(dump), Options{Dialect: d})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Messages) != 3 || len(tr.Problems) != 0 {
		t.Fatalf("%d messages, problems %v; want 3", len(tr.Messages), tr.Problems)
	}
	for i, got := range tr.Messages {
		if got.Malformed != "" || got.MTI != "0200" || got.Field(2) != "476173******0010" || got.Field(4) != "000000000900" {
			t.Errorf("line %d: %s %q fields %+v", i+1, got.MTI, got.Malformed, got.Fields)
		}
	}
	if h := hex.EncodeToString(tr.Messages[0].TPDU); h != "6000050000" {
		t.Errorf("TPDU %s, want 6000050000", h)
	}
	if !strings.Contains(tr.Messages[2].Note, "TPDU ID 61") {
		t.Errorf("wrong TPDU ID not noted: %q", tr.Messages[2].Note)
	}
	// In possim87 the same dump does not decode.
	tr, err = Read(strings.NewReader(dump), Options{})
	if err == nil && tr.Messages[0].Malformed == "" {
		t.Errorf("nac line decoded as possim87: %+v", tr.Messages[0])
	}
}
