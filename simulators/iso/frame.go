package iso

import (
	"errors"
	"fmt"
	"io"

	"github.com/moov-io/iso8583/network"
)

// MaxMessageLength caps the 2-byte length header: a possim87 message is a
// few hundred bytes, and a header claiming more is either garbage or an
// attack, refused before anything is allocated.
const MaxMessageLength = 4096

// ErrFrameTooLong is returned for a length header above MaxMessageLength.
var ErrFrameTooLong = errors.New("frame length above limit")

// ErrEmptyFrame is returned for a zero length header.
var ErrEmptyFrame = errors.New("empty frame")

// ReadLength reads the 2-byte big-endian length header. It has the shape
// of iso8583-connection's MessageLengthReader.
func ReadLength(r io.Reader) (int, error) {
	n, err := readHeader(r)
	if err != nil {
		return 0, err
	}
	if n > MaxMessageLength {
		return 0, fmt.Errorf("length header says %d bytes (limit %d): %w", n, MaxMessageLength, ErrFrameTooLong)
	}
	if n == 0 {
		return 0, ErrEmptyFrame
	}
	return n, nil
}

// readHeader reads the two header bytes without allocating when r is a
// buffered reader, which is how the host and the load generator read: it
// is on the path of every message.
func readHeader(r io.Reader) (int, error) {
	if br, ok := r.(io.ByteReader); ok {
		hi, err := br.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("reading length header: %w", err)
		}
		lo, err := br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("reading length header: %w", err)
		}
		return int(hi)<<8 | int(lo), nil
	}
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("reading length header: %w", err)
	}
	return int(b[0])<<8 | int(b[1]), nil
}

// WriteLength writes the 2-byte big-endian length header.
func WriteLength(w io.Writer, length int) (int, error) {
	h := network.NewBinary2BytesHeader()
	if err := h.SetLength(length); err != nil {
		return 0, err
	}
	return h.WriteTo(w)
}

// Frame prepends the length header to a packed message.
func Frame(packed []byte) []byte {
	out := make([]byte, 2+len(packed))
	out[0], out[1] = byte(len(packed)>>8), byte(len(packed))
	copy(out[2:], packed)
	return out
}
