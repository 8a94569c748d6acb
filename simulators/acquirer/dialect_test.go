package acquirer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// rawDialectClient writes frames of a dialect as given and reads answers.
type rawDialectClient struct {
	t  *testing.T
	d  *iso.Dialect
	nc net.Conn
	br *bufio.Reader
}

func (c *rawDialectClient) frame(v any, bend func(frame []byte)) []byte {
	c.t.Helper()
	m, err := iso.NewMessage(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if m, err = c.d.Convert(m); err != nil {
		c.t.Fatal(err)
	}
	packed, err := m.Pack()
	if err != nil {
		c.t.Fatal(err)
	}
	f, err := c.d.AppendFrame(nil, iso.Envelope{}, packed)
	if err != nil {
		c.t.Fatal(err)
	}
	if bend != nil {
		bend(f)
	}
	return f
}

func (c *rawDialectClient) exchange(frame []byte) (iso.Envelope, *iso8583.Message, error) {
	c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(frame); err != nil {
		return iso.Envelope{}, nil, err
	}
	env, body, off, err := c.d.ReadFrame(c.br)
	if err != nil {
		return env, nil, err
	}
	m, err := c.d.Unpack(body, off)
	return env, m, err
}

// TestHostDialectFormatErrors: a cup host answers 30 to a frame whose TPDU
// or fields do not fit the dialect when it can read the MTI, says where in
// the trace, and serves the same connection's next request as usual; a
// frame whose MTI cannot be read closes the connection.
func TestHostDialectFormatErrors(t *testing.T) {
	d, err := iso.LoadDialect("cup")
	if err != nil {
		t.Fatal(err)
	}
	trace := &syncWriter{}
	h := startHost(t, func(c *Config) { c.Dialect = d; c.Trace = trace })
	nc, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &rawDialectClient{t: t, d: d, nc: nc, br: bufio.NewReader(nc)}
	stan := 100
	sale := func() *iso.Financial {
		stan++
		return &iso.Financial{MTI: iso.MTIFinancialRequest, PAN: "4761739001010010", ProcessingCode: iso.ProcPurchase,
			Amount: "000000000100", TransmissionDT: "1125103000", STAN: fmt.Sprintf("%06d", stan),
			LocalTime: "103000", LocalDate: "1125", Expiry: "3012", EntryMode: "051", ConditionCode: "00",
			TerminalID: testTID, MerchantID: testMID, Currency: "156", Reserved60: "0000012.1.0"}
	}
	// Offsets in a cup 0200: 2 length, 5 TPDU, 6 header, MTI at 13, bitmap
	// at 15, field 2 (LL + 8 bytes) at 23, field 3 at 32, field 4 at 35,
	// 7 at 41, 11 at 46, 12 at 49. A field that fails after 11 leaves the
	// STAN readable, so the terminal can match the 30.
	cases := []struct {
		name string
		bend func([]byte)
		want string // in the trace note
	}{
		{"TPDU ID", func(f []byte) { f[2] = 0x61 }, "cup: byte 2: format error: TPDU ID 61"},
		{"time nibble", func(f []byte) { f[50] = 0x0b }, "cup: field 12 at byte 49"},
		{"bitmap claims absent fields", func(f []byte) { f[22] |= 0x01 }, "cup: field 64 at byte"},
	}
	for _, tc := range cases {
		s := sale()
		env, resp, err := c.exchange(c.frame(s, tc.bend))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got, _ := resp.GetString(11); rc(resp) != iso.RCFormatError || got != s.STAN {
			t.Errorf("%s: answered %s to STAN %s, want 30 to %s", tc.name, rc(resp), got, s.STAN)
		}
		if !bytes.Equal(env.TPDU[1:], []byte{0x00, 0x00, 0x00, 0x03}) {
			t.Errorf("%s: answer TPDU % x, want destination and source swapped", tc.name, env.TPDU)
		}
		// The trace line of the request is written before the answer.
		if got := trace.String(); !strings.Contains(got, tc.want) {
			t.Errorf("%s: trace does not say %q:\n%s", tc.name, tc.want, got)
		}
	}
	// The connection's other traffic is unaffected.
	if _, resp, err := c.exchange(c.frame(sale(), nil)); err != nil || rc(resp) != iso.RCApproved {
		t.Fatalf("good sale after the bad frames: %v %v", err, resp)
	}
	// An MTI that is not BCD: nothing can be answered; the host closes.
	_, _, err = c.exchange(c.frame(sale(), func(f []byte) { f[13] = 0xf2 }))
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("frame with an unreadable MTI: %v, want the connection closed", err)
	}
}

// syncWriter is a buffer the host writes its trace to while the test
// reads it.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
