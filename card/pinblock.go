package card

import (
	"errors"
	"fmt"
)

// ErrPINFormat reports a PIN that is not 4 to 12 digits.
var ErrPINFormat = errors.New("card: PIN must be 4 to 12 digits")

// ErrPANFormat reports a PAN that cannot take part in a PIN block.
var ErrPANFormat = errors.New("card: PAN must be 13 to 19 digits")

// PINBlockError reports a decrypted PIN block that is not a valid ISO 9564
// format 0 block, which almost always means the wrong key or the wrong PAN.
type PINBlockError struct {
	Reason string
}

func (e *PINBlockError) Error() string { return "card: malformed PIN block: " + e.Reason }

// PINBlock0 returns the clear ISO 9564 format 0 (ANSI X9.8) PIN block:
// 0 | PIN length | PIN | F padding, XORed with 0000 and the 12 rightmost PAN
// digits excluding the check digit.
func PINBlock0(pin, pan string) ([]byte, error) {
	if len(pin) < 4 || len(pin) > 12 || !isDigits(pin) {
		return nil, ErrPINFormat
	}
	pf, err := panField(pan)
	if err != nil {
		return nil, err
	}
	var nib [16]byte
	nib[0] = 0
	nib[1] = byte(len(pin))
	for i := 2; i < 16; i++ {
		nib[i] = 0xF
	}
	for i := 0; i < len(pin); i++ {
		nib[2+i] = pin[i] - '0'
	}
	out := make([]byte, 8)
	for i := range out {
		out[i] = (nib[2*i]<<4 | nib[2*i+1]) ^ pf[i]
	}
	return out, nil
}

// panField is the format 0 PAN field: 0000 followed by the 12 rightmost
// digits of the PAN without its check digit.
func panField(pan string) ([8]byte, error) {
	var f [8]byte
	if len(pan) < 13 || len(pan) > 19 || !isDigits(pan) {
		return f, ErrPANFormat
	}
	d := pan[len(pan)-13 : len(pan)-1]
	for i := 0; i < 6; i++ {
		f[2+i] = (d[2*i]-'0')<<4 | (d[2*i+1] - '0')
	}
	return f, nil
}

// EncryptPIN returns the format 0 PIN block encrypted under key (3DES ECB),
// as carried in ISO 8583 field 52.
func EncryptPIN(key []byte, pin, pan string) ([]byte, error) {
	clear, err := PINBlock0(pin, pan)
	if err != nil {
		return nil, err
	}
	enc, err := TDESEncrypt(key, clear)
	if err != nil {
		return nil, fmt.Errorf("encrypting PIN block: %w", err)
	}
	return enc, nil
}

// DecryptPIN decrypts a format 0 PIN block under key and returns the PIN.
// A block that does not decode returns a *PINBlockError.
func DecryptPIN(key, block []byte, pan string) (string, error) {
	clear, err := TDESDecrypt(key, block)
	if err != nil {
		return "", fmt.Errorf("decrypting PIN block: %w", err)
	}
	pf, err := panField(pan)
	if err != nil {
		return "", err
	}
	var nib [16]byte
	for i := 0; i < 8; i++ {
		b := clear[i] ^ pf[i]
		nib[2*i], nib[2*i+1] = b>>4, b&0xF
	}
	if nib[0] != 0 {
		return "", &PINBlockError{Reason: fmt.Sprintf("format nibble %X, want 0", nib[0])}
	}
	n := int(nib[1])
	if n < 4 || n > 12 {
		return "", &PINBlockError{Reason: fmt.Sprintf("PIN length %d out of range 4..12", n)}
	}
	pin := make([]byte, n)
	for i := 0; i < n; i++ {
		if nib[2+i] > 9 {
			return "", &PINBlockError{Reason: "non-digit in PIN field"}
		}
		pin[i] = '0' + nib[2+i]
	}
	for i := 2 + n; i < 16; i++ {
		if nib[i] != 0xF {
			return "", &PINBlockError{Reason: "bad fill after PIN"}
		}
	}
	return string(pin), nil
}
