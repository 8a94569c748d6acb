package card

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// ErrCryptogram reports an ARQC or ARPC that does not verify.
var ErrCryptogram = errors.New("card: cryptogram does not verify")

// DeriveICCMasterKey derives the card's application cryptogram master key
// from the issuer master key, EMV Book 2 Annex A1.4.1 (option A): Y is the
// rightmost 16 digits of PAN || PAN sequence number (left-padded with zeros),
// MK = 3DES(IMK)[Y] || 3DES(IMK)[Y xor FF..FF], with odd parity.
// An empty panSeq counts as "00".
func DeriveICCMasterKey(imk []byte, pan, panSeq string) ([]byte, error) {
	if panSeq == "" {
		panSeq = "00"
	}
	if !isDigits(pan) || len(pan) > 19 {
		return nil, fmt.Errorf("deriving ICC master key: %w", ErrPANFormat)
	}
	if len(panSeq) != 2 || !isDigits(panSeq) {
		return nil, fmt.Errorf("deriving ICC master key: PAN sequence %q must be 2 digits", panSeq)
	}
	y := pan + panSeq
	if len(y) < 16 {
		y = strings.Repeat("0", 16-len(y)) + y
	}
	y = y[len(y)-16:]
	var yb [8]byte
	for i := range yb {
		yb[i] = (y[2*i]-'0')<<4 | (y[2*i+1] - '0')
	}
	left, err := TDESEncrypt(imk, yb[:])
	if err != nil {
		return nil, fmt.Errorf("deriving ICC master key: %w", err)
	}
	for i := range yb {
		yb[i] ^= 0xFF
	}
	right, err := TDESEncrypt(imk, yb[:])
	if err != nil {
		return nil, fmt.Errorf("deriving ICC master key: %w", err)
	}
	return AdjustParity(append(left, right...)), nil
}

// SessionKey derives the application cryptogram session key with the EMV
// common session key derivation (EMV Book 2 Annex A1.3.1) from the ICC master
// key and the ATC: R = ATC || 00*6, SK = 3DES(MK)[R with byte 2 = F0] ||
// 3DES(MK)[R with byte 2 = 0F], with odd parity.
func SessionKey(iccMK []byte, atc uint16) ([]byte, error) {
	if len(iccMK) != 16 {
		return nil, fmt.Errorf("deriving session key: %w (got %d, want 16)", ErrKeyLength, len(iccMK))
	}
	r := [8]byte{byte(atc >> 8), byte(atc), 0xF0}
	left, err := TDESEncrypt(iccMK, r[:])
	if err != nil {
		return nil, fmt.Errorf("deriving session key: %w", err)
	}
	r[2] = 0x0F
	right, err := TDESEncrypt(iccMK, r[:])
	if err != nil {
		return nil, fmt.Errorf("deriving session key: %w", err)
	}
	return AdjustParity(append(left, right...)), nil
}

// MACAlg3 is ISO/IEC 9797-1 MAC algorithm 3 (the "retail MAC") with padding
// method 2, as EMV uses for application cryptograms: single-DES CBC under
// the left key half, then the last block decrypted under the right half and
// encrypted again under the left. It returns the full 8-byte MAC.
func MACAlg3(key, data []byte) ([]byte, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("MAC algorithm 3: %w (got %d, want 16)", ErrKeyLength, len(key))
	}
	k1, err := des.NewCipher(key[:8])
	if err != nil {
		return nil, fmt.Errorf("MAC algorithm 3: %w", err)
	}
	k2, err := des.NewCipher(key[8:])
	if err != nil {
		return nil, fmt.Errorf("MAC algorithm 3: %w", err)
	}
	padded := make([]byte, len(data), len(data)+8)
	copy(padded, data)
	padded = append(padded, 0x80)
	for len(padded)%8 != 0 {
		padded = append(padded, 0)
	}
	var h [8]byte
	cipher.NewCBCEncrypter(k1, h[:]).CryptBlocks(padded, padded)
	mac := padded[len(padded)-8:]
	k2.Decrypt(mac, mac)
	k1.Encrypt(mac, mac)
	out := make([]byte, 8)
	copy(out, mac)
	return out, nil
}

// ARQC computes the authorisation request cryptogram over the CDOL1 data (see
// CDOL1Data) under the AC session key.
func ARQC(sk []byte, cdol1 []byte) ([]byte, error) {
	m, err := MACAlg3(sk, cdol1)
	if err != nil {
		return nil, fmt.Errorf("computing ARQC: %w", err)
	}
	return m, nil
}

// ARPC1 computes the authorisation response cryptogram with EMV method 1
// (Book 2 A1.2.1): 3DES(SK)[ARQC xor (ARC || 00*6)], where arc is the
// two-character response code sent as its two ASCII bytes ("00" = 3030).
func ARPC1(sk, arqc []byte, arc string) ([]byte, error) {
	if len(arqc) != 8 {
		return nil, fmt.Errorf("computing ARPC: ARQC must be 8 bytes (got %d)", len(arqc))
	}
	if len(arc) != 2 {
		return nil, fmt.Errorf("computing ARPC: response code %q must be 2 characters", arc)
	}
	x := make([]byte, 8)
	copy(x, arqc)
	x[0] ^= arc[0]
	x[1] ^= arc[1]
	a, err := TDESEncrypt(sk, x)
	if err != nil {
		return nil, fmt.Errorf("computing ARPC: %w", err)
	}
	return a, nil
}

// VerifyARQC recomputes the ARQC for r from the issuer master key and
// compares it with arqc in constant time. It returns the session key so the
// caller can compute the ARPC.
func VerifyARQC(imk []byte, pan string, r ICCRequest, arqc []byte) (sk []byte, err error) {
	mk, err := DeriveICCMasterKey(imk, pan, r.PANSeq)
	if err != nil {
		return nil, err
	}
	sk, err = SessionKey(mk, r.ATC)
	if err != nil {
		return nil, err
	}
	want, err := ARQC(sk, CDOL1Data(r))
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(want, arqc) != 1 {
		return nil, fmt.Errorf("ARQC: %w", ErrCryptogram)
	}
	return sk, nil
}

// VerifyARPC checks an ARPC method 1 against the ARQC and response code.
func VerifyARPC(sk, arqc, arpc []byte, arc string) error {
	want, err := ARPC1(sk, arqc, arc)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, arpc) != 1 {
		return fmt.Errorf("ARPC: %w", ErrCryptogram)
	}
	return nil
}
