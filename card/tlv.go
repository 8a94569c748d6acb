package card

import (
	"encoding/binary"
	"fmt"
)

// TLV is one BER-TLV data object as used in EMV and ISO 8583 field 55. Tag
// holds the tag bytes big-endian (0x9F26, 0x5F2A, 0x82).
type TLV struct {
	Tag   uint32
	Value []byte
}

// TLVError reports where and why a BER-TLV stream does not decode.
type TLVError struct {
	Offset int
	Reason string
}

func (e *TLVError) Error() string {
	return fmt.Sprintf("card: bad TLV at offset %d: %s", e.Offset, e.Reason)
}

// maxTagBytes bounds multi-byte tags; EMV uses at most two bytes, three
// leaves room for proprietary ones.
const maxTagBytes = 3

// ParseTLV decodes a flat sequence of BER-TLV objects. Constructed objects
// are not descended into; field 55 is flat. Values alias b. Tags of one to
// three bytes and lengths in short form or 81/82/83 long form are accepted;
// anything else, or a length running past the end, is a *TLVError.
func ParseTLV(b []byte) ([]TLV, error) {
	var out []TLV
	for off := 0; off < len(b); {
		start := off
		tag := uint32(b[off])
		off++
		if tag&0x1F == 0x1F {
			for n := 1; ; n++ {
				if off >= len(b) {
					return nil, &TLVError{Offset: start, Reason: "tag runs past end"}
				}
				if n >= maxTagBytes {
					return nil, &TLVError{Offset: start, Reason: "tag longer than 3 bytes"}
				}
				c := b[off]
				off++
				tag = tag<<8 | uint32(c)
				if c&0x80 == 0 {
					break
				}
			}
		}
		if off >= len(b) {
			return nil, &TLVError{Offset: off, Reason: fmt.Sprintf("tag %X has no length", tag)}
		}
		l := int(b[off])
		off++
		if l&0x80 != 0 {
			n := l & 0x7F
			if n == 0 || n > 3 {
				return nil, &TLVError{Offset: off - 1, Reason: fmt.Sprintf("tag %X: unsupported length form %02X", tag, l)}
			}
			if off+n > len(b) {
				return nil, &TLVError{Offset: off - 1, Reason: fmt.Sprintf("tag %X: length runs past end", tag)}
			}
			l = 0
			for _, c := range b[off : off+n] {
				l = l<<8 | int(c)
			}
			off += n
		}
		if l > len(b)-off {
			return nil, &TLVError{Offset: start, Reason: fmt.Sprintf("tag %X: value of %d bytes runs past end (%d left)", tag, l, len(b)-off)}
		}
		out = append(out, TLV{Tag: tag, Value: b[off : off+l : off+l]})
		off += l
	}
	return out, nil
}

// EncodeTLV encodes items in order with minimal tag and length encodings.
func EncodeTLV(items ...TLV) []byte {
	n := 0
	for _, it := range items {
		n += 4 + 4 + len(it.Value)
	}
	out := make([]byte, 0, n)
	for _, it := range items {
		out = appendTLV(out, it.Tag, it.Value)
	}
	return out
}

func appendTLV(out []byte, tag uint32, v []byte) []byte {
	var tb [4]byte
	binary.BigEndian.PutUint32(tb[:], tag)
	i := 0
	for i < 3 && tb[i] == 0 {
		i++
	}
	out = append(out, tb[i:]...)
	switch l := len(v); {
	case l < 0x80:
		out = append(out, byte(l))
	case l <= 0xFF:
		out = append(out, 0x81, byte(l))
	case l <= 0xFFFF:
		out = append(out, 0x82, byte(l>>8), byte(l))
	default:
		out = append(out, 0x83, byte(l>>16), byte(l>>8), byte(l))
	}
	return append(out, v...)
}

// FindTag returns the value of the first object with tag.
func FindTag(items []TLV, tag uint32) ([]byte, bool) {
	for _, it := range items {
		if it.Tag == tag {
			return it.Value, true
		}
	}
	return nil, false
}
