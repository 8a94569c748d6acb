package card

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func upper(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

func TestMaskPAN(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"4761739001010010", "476173******0010"},
		{"6250947000000014", "625094******0014"},
		{"5413330089020011", "541333******0011"},
		{"4761739001010010123", "476173*********0123"},
		{"123456789012", "123456**9012"},
		{"12345678901", "***********"},
		{"47617390010100a0", "****************"},
		{"", ""},
		{"4761-7390-0101-0010", "*******************"},
	} {
		if got := MaskPAN(c.in); got != c.want {
			t.Errorf("MaskPAN(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLuhn(t *testing.T) {
	// Every PAN of the default profile is Luhn-valid.
	for _, pan := range []string{"4761739001010010", "5413330089010012", "6250947000000014",
		"4761739001010028", "4761739001010036", "4761739001010044", "6250947000000022",
		"5413330089020011", "4111111111111111", "79927398713"} {
		if !Luhn(pan) {
			t.Errorf("Luhn(%q) = false, want true", pan)
		}
	}
	for _, pan := range []string{"4761739001010011", "79927398710", "", "0", "12a4", "4111 1111 1111 1111"} {
		if Luhn(pan) {
			t.Errorf("Luhn(%q) = true, want false", pan)
		}
	}
}

func TestTDES(t *testing.T) {
	// The classic DES worked example (key 133457799BBCDFF1): with K1 = K2,
	// 3DES reduces to single DES.
	k := unhex(t, "133457799BBCDFF1133457799BBCDFF1")
	ct, err := TDESEncrypt(k, unhex(t, "0123456789ABCDEF"))
	if err != nil {
		t.Fatal(err)
	}
	if got := upper(ct); got != "85E813540F0AB405" {
		t.Errorf("DES vector = %s, want 85E813540F0AB405", got)
	}
	pt, err := TDESDecrypt(k, ct)
	if err != nil || upper(pt) != "0123456789ABCDEF" {
		t.Errorf("decrypt = %X, %v", pt, err)
	}
	if _, err := TDESEncrypt(k[:8], ct); !errors.Is(err, ErrKeyLength) {
		t.Errorf("8-byte key: err = %v, want ErrKeyLength", err)
	}
	if _, err := TDESEncrypt(k, ct[:7]); !errors.Is(err, ErrBlockLength) {
		t.Errorf("7-byte block: err = %v, want ErrBlockLength", err)
	}
}

func TestKCV(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"0123456789ABCDEFFEDCBA9876543210", "08D7B4"}, // published test key
		{"0123456789ABCDEFFEDCBA98765432100123456789ABCDEF", "08D7B4"},
	} {
		got, err := KCV(unhex(t, c.key))
		if err != nil || got != c.want {
			t.Errorf("KCV(%s) = %q, %v; want %s", c.key, got, err, c.want)
		}
	}
	if _, err := KCV([]byte{1, 2, 3}); !errors.Is(err, ErrKeyLength) {
		t.Errorf("short key: err = %v", err)
	}
}

func TestEncryptKeyRoundTrip(t *testing.T) {
	tmk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	sk := unhex(t, "A1B2C3D4E5F60718293A4B5C6D7E8F90")
	enc, err := EncryptKey(tmk, sk)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(enc, sk) {
		t.Fatal("encrypted key equals clear key")
	}
	dec, err := DecryptKey(tmk, enc)
	if err != nil || !bytes.Equal(dec, sk) {
		t.Fatalf("DecryptKey = %X, %v; want %X", dec, err, sk)
	}
}

func TestAdjustParity(t *testing.T) {
	got := AdjustParity(unhex(t, "00FE0102"))
	if upper(got) != "01FE0102" {
		t.Errorf("AdjustParity = %X, want 01FE0102", got)
	}
}

func TestPINBlock0(t *testing.T) {
	for _, c := range []struct{ pin, pan, want string }{
		// ISO 9564-1 / ANSI X9.8 format 0 worked example.
		{"1234", "43219876543210987", "0412AC89ABCDEF67"},
		{"1234", "4111111111111111", "041225EEEEEEEEEE"},
		// PAN field 0000 173900101001 xor 041234FFFFFFFFFF.
		{"1234", "4761739001010010", "041223C6FFEFEFFE"},
	} {
		got, err := PINBlock0(c.pin, c.pan)
		if err != nil {
			t.Fatalf("PINBlock0(%s): %v", c.pan, err)
		}
		if upper(got) != c.want {
			t.Errorf("PINBlock0(%s, %s) = %X, want %s", c.pin, c.pan, got, c.want)
		}
	}
	for _, pin := range []string{"123", "1234567890123", "12a4", ""} {
		if _, err := PINBlock0(pin, "4111111111111111"); !errors.Is(err, ErrPINFormat) {
			t.Errorf("PIN %q: err = %v, want ErrPINFormat", pin, err)
		}
	}
	if _, err := PINBlock0("1234", "411111"); !errors.Is(err, ErrPANFormat) {
		t.Errorf("short PAN: err = %v, want ErrPANFormat", err)
	}
}

func TestEncryptDecryptPIN(t *testing.T) {
	key := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	for _, pin := range []string{"1234", "0000", "123456789012", "98765"} {
		blk, err := EncryptPIN(key, pin, "4761739001010010")
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecryptPIN(key, blk, "4761739001010010")
		if err != nil || got != pin {
			t.Errorf("round trip %q = %q, %v", pin, got, err)
		}
	}
	// X9.8 example under the published test key: the clear block must come
	// back exactly.
	blk, err := EncryptPIN(key, "1234", "43219876543210987")
	if err != nil {
		t.Fatal(err)
	}
	clear, _ := TDESDecrypt(key, blk)
	if upper(clear) != "0412AC89ABCDEF67" {
		t.Errorf("clear block = %X", clear)
	}
	// Wrong key or wrong PAN gives a typed error (or, rarely, a wrong PIN;
	// these inputs give the error).
	wrong := unhex(t, "FEDCBA98765432100123456789ABCDEF")
	var pbe *PINBlockError
	if _, err := DecryptPIN(wrong, blk, "43219876543210987"); !errors.As(err, &pbe) {
		t.Errorf("wrong key: err = %v, want *PINBlockError", err)
	}
	if got, err := DecryptPIN(key, blk, "4761739001010010"); err == nil && got == "1234" {
		t.Errorf("wrong PAN decrypted to the right PIN")
	}
	if _, err := DecryptPIN(key, blk[:4], "43219876543210987"); !errors.Is(err, ErrBlockLength) {
		t.Errorf("short block: err = %v", err)
	}
}

func TestDecryptPINRejects(t *testing.T) {
	key := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	pan := "4111111111111111"
	pf := unhex(t, "0000111111111111")
	for name, clear := range map[string]string{
		"format 1":    "141234FFFFFFFFFF",
		"length 3":    "03123FFFFFFFFFFF",
		"length 13":   "0D1234567890123F",
		"non-digit":   "04123AFFFFFFFFFF",
		"bad fill":    "041234FFFFFFFFF0",
		"zero length": "00FFFFFFFFFFFFFF",
	} {
		c := unhex(t, clear)
		for i := range c {
			c[i] ^= pf[i]
		}
		blk, _ := TDESEncrypt(key, c)
		var pbe *PINBlockError
		if _, err := DecryptPIN(key, blk, pan); !errors.As(err, &pbe) {
			t.Errorf("%s: err = %v, want *PINBlockError", name, err)
		}
	}
}

func BenchmarkEncryptPIN(b *testing.B) {
	key := unhex(b, "0123456789ABCDEFFEDCBA9876543210")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncryptPIN(key, "1234", "4761739001010010"); err != nil {
			b.Fatal(err)
		}
	}
}
