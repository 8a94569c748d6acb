package iso

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/moov-io/iso8583"
)

// The codec's hot path, per message: what the host pays to read a sale and
// to answer it, and what the load generator pays for the other side.

func benchSaleMessage(b *testing.B) *iso8583.Message {
	b.Helper()
	s := sampleSale()
	m, err := NewMessage(&s)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkPackSale packs a card sale request (0200).
func BenchmarkPackSale(b *testing.B) {
	m := benchSaleMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Pack(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnpackSale unpacks a card sale request into a fresh message, as
// the host does for every frame.
func BenchmarkUnpackSale(b *testing.B) {
	raw, err := benchSaleMessage(b).Pack()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := iso8583.NewMessage(Spec87).Unpack(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildAndPackResponse builds a sale's 0210 the way the host does
// (the echoed fields set one by one, then 37, 38, 39) and packs it.
func BenchmarkBuildAndPackResponse(b *testing.B) {
	req := benchSaleMessage(b)
	echoed := []int{3, 4, 7, 11, 12, 13, 22, 25, 41, 42, 49, 60}
	b.ReportAllocs()
	for b.Loop() {
		resp := iso8583.NewMessage(Spec87)
		resp.MTI(MTIFinancialResponse)
		for _, id := range echoed {
			if s, err := req.GetString(id); err == nil && s != "" {
				resp.Field(id, s)
			}
		}
		resp.Field(37, "112510300001")
		resp.Field(38, "123456")
		resp.Field(39, RCApproved)
		if _, err := resp.Pack(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameRoundTrip frames a packed sale and reads it back through
// ReadLength, the wire part of every message.
func BenchmarkFrameRoundTrip(b *testing.B) {
	raw, _ := benchSaleMessage(b).Pack()
	framed := Frame(raw)
	rd := bytes.NewReader(framed)
	br := bufio.NewReader(rd)
	b.ReportAllocs()
	for b.Loop() {
		f := Frame(raw)
		rd.Reset(f)
		br.Reset(rd)
		n, err := ReadLength(br)
		if err != nil || n != len(raw) {
			b.Fatal(n, err)
		}
	}
}
