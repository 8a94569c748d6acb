package iso

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/moov-io/iso8583"
)

// BenchmarkDialect measures what one sale costs each side of the wire:
// "send" packs the 0200 and frames it, "receive" reads the frame from a
// buffered reader and unpacks it. possim87/direct is the framing code
// before dialects (Frame, ReadLength, Unpack), kept as the baseline.
//
//	go test ./simulators/iso -run XXX -bench Dialect -benchmem
func BenchmarkDialect(b *testing.B) {
	sale := sampleSale()
	sale.Track2 = "4761739001010010=30121010000000000"
	b.Run("possim87/direct", func(b *testing.B) {
		m, _ := NewMessage(&sale)
		b.Run("send", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				packed, err := m.Pack()
				if err != nil {
					b.Fatal(err)
				}
				_ = Frame(packed)
			}
		})
		packed, _ := m.Pack()
		frame := Frame(packed)
		b.Run("receive", func(b *testing.B) {
			rd := bytes.NewReader(frame)
			br := bufio.NewReader(rd)
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(frame)
				br.Reset(rd)
				n, err := ReadLength(br)
				if err != nil {
					b.Fatal(err)
				}
				raw := make([]byte, n)
				if _, err := io.ReadFull(br, raw); err != nil {
					b.Fatal(err)
				}
				if err := iso8583.NewMessage(Spec87).Unpack(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	for _, name := range BuiltinDialects() {
		d := mustDialect(b, name)
		m, _ := NewMessage(&sale)
		m, err := d.Convert(m)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.Run("send", func(b *testing.B) {
				buf := make([]byte, 0, 512)
				b.ReportAllocs()
				for b.Loop() {
					packed, err := m.Pack()
					if err != nil {
						b.Fatal(err)
					}
					if buf, err = d.AppendFrame(buf[:0], Envelope{}, packed); err != nil {
						b.Fatal(err)
					}
				}
			})
			frame := frameOf(b, d, &sale, Envelope{})
			b.Run("receive", func(b *testing.B) {
				rd := bytes.NewReader(frame)
				br := bufio.NewReader(rd)
				b.ReportAllocs()
				for b.Loop() {
					rd.Reset(frame)
					br.Reset(rd)
					_, body, off, err := d.ReadFrame(br)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := d.Unpack(body, off); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
