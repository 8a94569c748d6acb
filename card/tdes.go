package card

import (
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrKeyLength reports a key that is not a double- or triple-length DES key
// where one is required.
var ErrKeyLength = errors.New("card: key must be 16 or 24 bytes")

// ErrBlockLength reports data that is not one 8-byte DES block.
var ErrBlockLength = errors.New("card: block must be 8 bytes")

// tdes returns the 3DES cipher for a double-length (K1 K2, used as K1 K2 K1)
// or triple-length key.
func tdes(key []byte) (cipher.Block, error) {
	var k []byte
	switch len(key) {
	case 16:
		k = make([]byte, 0, 24)
		k = append(k, key...)
		k = append(k, key[:8]...)
	case 24:
		k = key
	default:
		return nil, fmt.Errorf("%w (got %d)", ErrKeyLength, len(key))
	}
	return des.NewTripleDESCipher(k)
}

// TDESEncrypt encrypts one 8-byte block with 3DES in ECB mode.
func TDESEncrypt(key, block []byte) ([]byte, error) {
	c, err := tdes(key)
	if err != nil {
		return nil, err
	}
	if len(block) != des.BlockSize {
		return nil, fmt.Errorf("%w (got %d)", ErrBlockLength, len(block))
	}
	out := make([]byte, des.BlockSize)
	c.Encrypt(out, block)
	return out, nil
}

// TDESDecrypt decrypts one 8-byte block with 3DES in ECB mode.
func TDESDecrypt(key, block []byte) ([]byte, error) {
	c, err := tdes(key)
	if err != nil {
		return nil, err
	}
	if len(block) != des.BlockSize {
		return nil, fmt.Errorf("%w (got %d)", ErrBlockLength, len(block))
	}
	out := make([]byte, des.BlockSize)
	c.Decrypt(out, block)
	return out, nil
}

// KCV returns the key check value: the first 3 bytes of the key's encryption
// of eight zero bytes, as upper-case hex ("08D7B4"). It lets two parties
// confirm they hold the same key without revealing it.
func KCV(key []byte) (string, error) {
	z, err := TDESEncrypt(key, make([]byte, 8))
	if err != nil {
		return "", fmt.Errorf("key check value: %w", err)
	}
	return strings.ToUpper(hex.EncodeToString(z[:3])), nil
}

// EncryptKey encrypts a double-length key under a key-encrypting key, half by
// half in ECB mode, the way a host sends a session key under a master key.
func EncryptKey(kek, key []byte) ([]byte, error) {
	return cryptKey(kek, key, TDESEncrypt)
}

// DecryptKey reverses EncryptKey.
func DecryptKey(kek, enc []byte) ([]byte, error) {
	return cryptKey(kek, enc, TDESDecrypt)
}

func cryptKey(kek, key []byte, f func(k, b []byte) ([]byte, error)) ([]byte, error) {
	if len(key) != 16 && len(key) != 24 {
		return nil, fmt.Errorf("wrapped key: %w (got %d)", ErrKeyLength, len(key))
	}
	out := make([]byte, 0, len(key))
	for i := 0; i < len(key); i += 8 {
		b, err := f(kek, key[i:i+8])
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// AdjustParity returns a copy of key with every byte set to odd parity, as
// DES keys are conventionally stored. DES ignores the parity bit, so this
// only changes how a key looks, never what it computes.
func AdjustParity(key []byte) []byte {
	out := make([]byte, len(key))
	for i, b := range key {
		b &^= 1
		ones := 0
		for v := b; v != 0; v &= v - 1 {
			ones++
		}
		if ones%2 == 0 {
			b |= 1
		}
		out[i] = b
	}
	return out
}
