package iso

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moov-io/iso8583"
)

func sampleSale() Financial {
	return Financial{
		MTI: MTIFinancialRequest, PAN: "4761739001010010", ProcessingCode: ProcPurchase,
		Amount: "000000010000", TransmissionDT: "1125120000", STAN: "000001",
		LocalTime: "120000", LocalDate: "1125", Expiry: "3012", EntryMode: "051",
		CardSeq: "001", ConditionCode: "00", TerminalID: "TERM0001", MerchantID: "123456789012345",
		Currency: "156", PINBlock: []byte{1, 2, 3, 4, 5, 6, 7, 8}, ICC: []byte{0x9f, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8},
		Reserved60: "000001",
	}
}

func TestRoundTrip(t *testing.T) {
	in := sampleSale()
	m, err := NewMessage(&in)
	if err != nil {
		t.Fatal(err)
	}
	packed, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	// MTI, then a 16-hex-character primary bitmap; no secondary bitmap
	// because no field above 64 is present.
	if !bytes.HasPrefix(packed, []byte("0200")) || packed[4] > '7' {
		t.Fatalf("packed starts %q; want MTI then a primary bitmap without bit 1", packed[:20])
	}
	got := iso8583.NewMessage(Spec87)
	if err := got.Unpack(packed); err != nil {
		t.Fatal(err)
	}
	var out Financial
	if err := Decode(got, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-sent +received):\n%s", diff)
	}
}

func TestSecondaryBitmapExpands(t *testing.T) {
	in := sampleSale()
	in.MTI = MTIReversal
	in.OriginalData = OriginalData("0200", "000001", "1125120000")
	m, err := NewMessage(&in)
	if err != nil {
		t.Fatal(err)
	}
	packed, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	// Bit 1 set: the first hex digit of the bitmap is 8 or above, and 32 hex
	// characters of bitmap follow the MTI.
	if packed[4] < '8' {
		t.Fatalf("bitmap %q: bit 1 not set with field 90 present", packed[4:36])
	}
	got := iso8583.NewMessage(Spec87)
	if err := got.Unpack(packed); err != nil {
		t.Fatal(err)
	}
	f90, _ := got.GetString(90)
	mti, stan, dt, err := ParseOriginalData(f90)
	if err != nil || mti != "0200" || stan != "000001" || dt != "1125120000" {
		t.Errorf("field 90 = %q -> %s %s %s %v", f90, mti, stan, dt, err)
	}
}

func TestReconcileKeepsZeroTotals(t *testing.T) {
	in := Reconcile{MTI: MTIReconcile, TransmissionDT: "1125120000", STAN: "000009", TerminalID: "TERM0001",
		MerchantID: "123456789012345", Currency: "156", Batch: "000001", CreditsNumber: 3, CreditsAmount: 12345}
	m, err := NewMessage(&in)
	if err != nil {
		t.Fatal(err)
	}
	packed, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	got := iso8583.NewMessage(Spec87)
	if err := got.Unpack(packed); err != nil {
		t.Fatal(err)
	}
	var out Reconcile
	if err := Decode(got, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("(-sent +received):\n%s", diff)
	}
	if !got.Bitmap().IsSet(76) || !got.Bitmap().IsSet(88) {
		t.Error("zero debit totals left out; 0500 must always carry 74/76/86/88")
	}
}

func TestResponseMTI(t *testing.T) {
	for req, want := range map[string]string{"0200": "0210", "0401": "0410", "0221": "0230", "0800": "0810", "0500": "0510", "0320": "0330"} {
		if got := ResponseMTI(req); got != want {
			t.Errorf("ResponseMTI(%s) = %s; want %s", req, got, want)
		}
	}
}

func TestReadLength(t *testing.T) {
	if n, err := ReadLength(bytes.NewReader([]byte{0x01, 0x2c})); err != nil || n != 300 {
		t.Errorf("ReadLength = %d, %v", n, err)
	}
	if _, err := ReadLength(bytes.NewReader([]byte{0xff, 0xff})); !errors.Is(err, ErrFrameTooLong) {
		t.Errorf("oversize header: err = %v; want ErrFrameTooLong", err)
	}
	if _, err := ReadLength(bytes.NewReader([]byte{0, 0})); !errors.Is(err, ErrEmptyFrame) {
		t.Errorf("zero header: err = %v; want ErrEmptyFrame", err)
	}
	var b bytes.Buffer
	if _, err := WriteLength(&b, 258); err != nil || !bytes.Equal(b.Bytes(), []byte{1, 2}) {
		t.Errorf("WriteLength = %x, %v", b.Bytes(), err)
	}
}

func TestLoadSpec(t *testing.T) {
	dir := t.TempDir()
	js := `{"name":"tiny","fields":{"0":{"type":"String","length":4,"description":"MTI","enc":"ASCII","prefix":"ASCII.Fixed"},"1":{"type":"Bitmap","length":8,"description":"Bitmap","enc":"HexToASCII","prefix":"Hex.Fixed"},"11":{"type":"String","length":6,"description":"STAN","enc":"ASCII","prefix":"ASCII.Fixed"}}}`
	yml := "name: tiny\nfields:\n  \"0\": {type: String, length: 4, description: MTI, enc: ASCII, prefix: ASCII.Fixed}\n  \"1\": {type: Bitmap, length: 8, description: Bitmap, enc: HexToASCII, prefix: Hex.Fixed}\n  \"11\": {type: String, length: 6, description: STAN, enc: ASCII, prefix: ASCII.Fixed}\n"
	for name, body := range map[string]string{"tiny.json": js, "tiny.yaml": yml} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := LoadSpec(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := iso8583.NewMessage(spec)
		m.MTI("0800")
		if err := m.Field(11, "000123"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Pack(); err != nil {
			t.Errorf("%s: pack: %v", name, err)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"name":"x","fields":{"0":{"type":"Nope"}}}`), 0o644)
	if _, err := LoadSpec(bad); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("bad spec: err = %v; want an error naming the file", err)
	}
	if _, err := LoadSpec("nope"); err == nil || !strings.Contains(err.Error(), "possim87") {
		t.Errorf("unknown name: err = %v; want the list of built-in specs", err)
	}
}
