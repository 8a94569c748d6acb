package card

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// Published vectors from the open-source pyemv test suite
// (github.com/knovichikhin/pyemv), which match EMV Book 2 and HSM output.
func TestDeriveICCMasterKeyVectors(t *testing.T) {
	imk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	mk, err := DeriveICCMasterKey(imk, "99012345678901234", "45")
	if err != nil {
		t.Fatal(err)
	}
	if got := upper(mk); got != "67F8292358083E5EA7AB7FDA58D53B6B" {
		t.Errorf("ICC MK = %s, want 67F8292358083E5EA7AB7FDA58D53B6B", got)
	}
	for _, c := range []struct{ pan, psn, kcv string }{
		{"12345678901234567", "45", "FF08"},
		{"1234567890123456", "00", "BAB0"},
		{"1234567890123456", "", "BAB0"}, // empty sequence number counts as 00
	} {
		mk, err := DeriveICCMasterKey(imk, c.pan, c.psn)
		if err != nil {
			t.Fatal(err)
		}
		if kcv, _ := KCV(mk); kcv[:4] != c.kcv {
			t.Errorf("ICC MK(%s, %q) KCV = %s, want %s…", c.pan, c.psn, kcv, c.kcv)
		}
	}
	if _, err := DeriveICCMasterKey(imk, "12345x", "00"); !errors.Is(err, ErrPANFormat) {
		t.Errorf("bad PAN: err = %v", err)
	}
	if _, err := DeriveICCMasterKey(imk, "1234567890123456", "1"); err == nil {
		t.Error("one-digit PAN sequence accepted")
	}
}

// visaCVN18 is pyemv's Visa CVN 18 vector: EMV common session key
// derivation, MAC algorithm 3 with padding method 2 over the CDOL1 data
// including the issuer application data 06 01 12 || CVR.
var visaCVN18 = ICCRequest{
	Amount: 4000, AmountOther: 0,
	CountryCode: "0124", CurrencyCode: "0124",
	TVR:                 [5]byte{0x80, 0x00, 0x04, 0x80, 0x00},
	Date:                "191105",
	TxnType:             0x01,
	UnpredictableNumber: [4]byte{0x52, 0xBF, 0x45, 0x85},
	AIP:                 [2]byte{0x18, 0x00},
	ATC:                 0x001C,
	PANSeq:              "00",
	CVR:                 [4]byte{0x03, 0xA0, 0xB8, 0x00},
}

func TestARQCPublishedVector(t *testing.T) {
	imk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	mk, err := DeriveICCMasterKey(imk, "1234567890123456", "00")
	if err != nil {
		t.Fatal(err)
	}
	sk, err := SessionKey(mk, visaCVN18.ATC)
	if err != nil {
		t.Fatal(err)
	}
	if kcv, _ := KCV(sk); kcv[:4] != "22C8" {
		t.Errorf("session key KCV = %s, want 22C8…", kcv)
	}
	want := "000000004000" + "000000000000" + "0124" + "8000048000" + "0124" + "191105" + "01" +
		"52BF4585" + "1800" + "001C" + "06011203A0B800"
	if got := upper(CDOL1Data(visaCVN18)); got != want {
		t.Errorf("CDOL1Data = %s\nwant        %s", got, want)
	}
	arqc, err := ARQC(sk, CDOL1Data(visaCVN18))
	if err != nil {
		t.Fatal(err)
	}
	if got := upper(arqc); got != "7A788EA6B8A3E733" {
		t.Errorf("ARQC = %s, want 7A788EA6B8A3E733", got)
	}
	if _, err := VerifyARQC(imk, "1234567890123456", visaCVN18, arqc); err != nil {
		t.Errorf("VerifyARQC: %v", err)
	}
}

func TestMACAlg3PublishedVector(t *testing.T) {
	mac, err := MACAlg3(unhex(t, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB"), []byte("hello world"))
	if err != nil {
		t.Fatal(err)
	}
	if got := upper(mac); got != "2BC2D9EDE0CF31F6" {
		t.Errorf("MAC = %s, want 2BC2D9EDE0CF31F6", got)
	}
	if _, err := MACAlg3(make([]byte, 8), nil); !errors.Is(err, ErrKeyLength) {
		t.Errorf("short key: err = %v", err)
	}
}

// ARPC method 1 from pyemv's Visa CVN 10 vector (keyed by the ICC master
// key there; the arithmetic is the same under a session key).
func TestARPC1PublishedVector(t *testing.T) {
	imk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	mk, err := DeriveICCMasterKey(imk, "1234567890123456", "00")
	if err != nil {
		t.Fatal(err)
	}
	arpc, err := ARPC1(mk, unhex(t, "29CCA15AE665FA2E"), "00")
	if err != nil {
		t.Fatal(err)
	}
	if got := upper(arpc); got != "28993816AFAE4AEB" {
		t.Errorf("ARPC = %s, want 28993816AFAE4AEB", got)
	}
	if err := VerifyARPC(mk, unhex(t, "29CCA15AE665FA2E"), arpc, "00"); err != nil {
		t.Error(err)
	}
	if err := VerifyARPC(mk, unhex(t, "29CCA15AE665FA2E"), arpc, "05"); !errors.Is(err, ErrCryptogram) {
		t.Errorf("other response code: err = %v, want ErrCryptogram", err)
	}
	if _, err := ARPC1(mk, []byte{1}, "00"); err == nil {
		t.Error("short ARQC accepted")
	}
	if _, err := ARPC1(mk, make([]byte, 8), "0"); err == nil {
		t.Error("one-character response code accepted")
	}
}

// defaultRequest is a sale of 12.34 CNY with the default profile's Visa.
var defaultRequest = ICCRequest{
	Amount: 1234, CountryCode: "0156", CurrencyCode: "0156", Date: "261125",
	TxnType: 0x00, UnpredictableNumber: [4]byte{0x11, 0x22, 0x33, 0x44},
	AIP: [2]byte{0x18, 0x00}, ATC: 7, PANSeq: "01", CVR: [4]byte{0x03, 0xA0, 0xA0, 0x00},
}

type golden struct {
	IMK, PAN, ICCMasterKey, SessionKey, CDOL1, ARQC, ARPC00, ICCData string
}

// TestGoldenDefaultProfile pins the cryptograms of the default profile's
// keys: computed once by this code (after it passed the published vectors
// above) and committed, so card and host can never drift apart silently.
func TestGoldenDefaultProfile(t *testing.T) {
	imk := unhex(t, "00112233445566778899AABBCCDDEEFF")
	pan := "4761739001010010"
	mk, err := DeriveICCMasterKey(imk, pan, defaultRequest.PANSeq)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := SessionKey(mk, defaultRequest.ATC)
	if err != nil {
		t.Fatal(err)
	}
	arqc, err := ARQC(sk, CDOL1Data(defaultRequest))
	if err != nil {
		t.Fatal(err)
	}
	arpc, err := ARPC1(sk, arqc, "00")
	if err != nil {
		t.Fatal(err)
	}
	got := golden{
		IMK: upper(imk), PAN: pan, ICCMasterKey: upper(mk), SessionKey: upper(sk),
		CDOL1: upper(CDOL1Data(defaultRequest)), ARQC: upper(arqc), ARPC00: upper(arpc),
		ICCData: upper(BuildICCData(defaultRequest, arqc)),
	}
	path := filepath.Join("testdata", "golden_default_profile.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	var want golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("golden mismatch\n got %+v\nwant %+v", got, want)
	}
}

// TestCardHostAgreement plays both sides: the card builds field 55, the host
// parses it and verifies; any single-bit change fails verification.
func TestCardHostAgreement(t *testing.T) {
	imk := unhex(t, "00112233445566778899AABBCCDDEEFF")
	pan := "4761739001010010"
	mk, _ := DeriveICCMasterKey(imk, pan, "01")
	sk, _ := SessionKey(mk, defaultRequest.ATC)
	arqc, _ := ARQC(sk, CDOL1Data(defaultRequest))
	f55 := BuildICCData(defaultRequest, arqc)

	r, gotARQC, err := ParseICCData(f55)
	if err != nil {
		t.Fatal(err)
	}
	if r != defaultRequest {
		t.Fatalf("parsed request\n%+v\nwant %+v", r, defaultRequest)
	}
	hostSK, err := VerifyARQC(imk, pan, r, gotARQC)
	if err != nil {
		t.Fatal(err)
	}
	arpc, _ := ARPC1(hostSK, gotARQC, "00")
	if err := VerifyARPC(sk, arqc, arpc, "00"); err != nil {
		t.Errorf("card rejects host ARPC: %v", err)
	}

	// Flip each bit of the data the ARQC covers: the host must refuse.
	data := CDOL1Data(defaultRequest)
	for i := 0; i < len(data)*8; i++ {
		d := bytes.Clone(data)
		d[i/8] ^= 1 << (i % 8)
		m, _ := ARQC(sk, d)
		if bytes.Equal(m, arqc) {
			t.Fatalf("bit %d flip leaves ARQC unchanged", i)
		}
	}
	for _, mutate := range []func(*ICCRequest){
		func(r *ICCRequest) { r.Amount++ },
		func(r *ICCRequest) { r.ATC++ },
		func(r *ICCRequest) { r.UnpredictableNumber[3] ^= 1 },
		func(r *ICCRequest) { r.PANSeq = "02" },
		func(r *ICCRequest) { r.CurrencyCode = "0840" },
	} {
		r2 := defaultRequest
		mutate(&r2)
		if _, err := VerifyARQC(imk, pan, r2, arqc); !errors.Is(err, ErrCryptogram) {
			t.Errorf("mutated request %+v verified: %v", r2, err)
		}
	}
	if _, err := VerifyARQC(imk, "4761739001010028", defaultRequest, arqc); !errors.Is(err, ErrCryptogram) {
		t.Errorf("other PAN verified: %v", err)
	}
}

func TestParseICCDataErrors(t *testing.T) {
	good := BuildICCData(defaultRequest, make([]byte, 8))
	items, _ := ParseTLV(good)
	drop := func(tag uint32) []byte {
		var keep []TLV
		for _, it := range items {
			if it.Tag != tag {
				keep = append(keep, it)
			}
		}
		return EncodeTLV(keep...)
	}
	var ie *ICCDataError
	for _, tag := range []uint32{TagAmount, TagATC, TagAppCryptogram, TagIAD, TagUnpredictable} {
		if _, _, err := ParseICCData(drop(tag)); !errors.As(err, &ie) || ie.Tag != tag {
			t.Errorf("without %X: err = %v", tag, err)
		}
	}
	if r, _, err := ParseICCData(drop(TagPANSeq)); err != nil || r.PANSeq != "00" {
		t.Errorf("without 5F34: %q, %v", r.PANSeq, err)
	}
	bad := EncodeTLV(append([]TLV{{TagAmount, []byte{0, 0, 0, 0, 0x1A, 0}}}, items[1:]...)...)
	if _, _, err := ParseICCData(bad); !errors.As(err, &ie) {
		t.Errorf("non-BCD amount: err = %v", err)
	}
	var te *TLVError
	if _, _, err := ParseICCData(good[:len(good)-3]); !errors.As(err, &te) {
		t.Errorf("truncated: err = %v", err)
	}
}

func BenchmarkARQC(b *testing.B) {
	imk := unhex(b, "00112233445566778899AABBCCDDEEFF")
	b.ReportAllocs()
	for b.Loop() {
		mk, _ := DeriveICCMasterKey(imk, "4761739001010010", "01")
		sk, _ := SessionKey(mk, 7)
		if _, err := ARQC(sk, CDOL1Data(defaultRequest)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseICCData(b *testing.B) {
	f55 := BuildICCData(defaultRequest, make([]byte, 8))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseICCData(f55); err != nil {
			b.Fatal(err)
		}
	}
}
