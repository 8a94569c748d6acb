package acquirer

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// TestFieldValidation: a request with letters in a numeric field, or a date
// or time that does not exist, is answered 30, never journaled, and the log
// names the field and what was expected.
func TestFieldValidation(t *testing.T) {
	logs := &lockedBuf{}
	h := startHost(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	tm := dial(t, h.Addr())
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		bend  func(*iso.Financial)
		field string
	}{
		{"letters in the STAN", func(f *iso.Financial) { f.STAN = "ABCDEF" }, "field=11"},
		{"month 99 in field 7", func(f *iso.Financial) { f.TransmissionDT = "9999999999" }, "field=7"},
		{"30 February in field 7", func(f *iso.Financial) { f.TransmissionDT = "0230103000" }, "field=7"},
		{"hour 24 in field 7", func(f *iso.Financial) { f.TransmissionDT = "1125240000" }, "field=7"},
		{"minute 60 in field 12", func(f *iso.Financial) { f.LocalTime = "106000" }, "field=12"},
		{"month 13 in field 13", func(f *iso.Financial) { f.LocalDate = "1301" }, "field=13"},
		{"letters in the amount", func(f *iso.Financial) { f.Amount = "00000000010A" }, "field=4"},
		{"letters in the PAN", func(f *iso.Financial) { f.PAN = "47617390010100X0" }, "field=2"},
		{"letters in the processing code", func(f *iso.Financial) { f.ProcessingCode = "00000A" }, "field=3"},
		{"letters in the currency", func(f *iso.Financial) { f.Currency = "CNY" }, "field=49"},
	} {
		sale := tm.sale(visa, 100)
		c.bend(sale)
		resp := tm.mustSend(sale)
		if code := rc(resp); code != iso.RCFormatError {
			t.Errorf("%s: answered %s; want 30", c.name, code)
		}
		if resp.GetField(37) != nil {
			t.Errorf("%s: the 30 carries an RRN", c.name)
		}
		date := sale.TransmissionDT[:4]
		for _, d := range []string{date, "1125"} {
			if e, found, err := h.Ledger().Lookup(ctx, ledger.Key{TID: testTID, STAN: sale.STAN, Date: d}); err != nil || found {
				t.Errorf("%s: journaled under date %s: %+v (%v)", c.name, d, e, err)
			}
		}
		if !strings.Contains(logs.String(), c.field) {
			t.Errorf("%s: no log line naming %s:\n%s", c.name, c.field, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `want MMDDhhmmss`) || strings.Contains(logs.String(), "47617390010100X0") {
		t.Errorf("log does not say what field 7 wants, or shows a PAN:\n%s", logs.String())
	}
	// Valid dates still pass, 29 February included (the year is not sent).
	sale := tm.sale(visa, 100)
	sale.TransmissionDT, sale.LocalDate, sale.LocalTime = "0229235959", "0229", "235959"
	if code := rc(tm.mustSend(sale)); code != "00" {
		t.Errorf("sale of 29 February 23:59:59 answered %s", code)
	}
}

// TestNonNumericMTICloses: a frame that unpacks but whose MTI is not four
// digits cannot be answered; the connection is closed, as for garbage.
func TestNonNumericMTICloses(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	packed := pack(t, tm.sale(visa, 100))
	copy(packed, "02A0")
	c, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(iso.Frame(packed))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("connection after an MTI of 02A0: read %v; want it closed", err)
	}
	if s := h.Stats(); s.Closed != 1 {
		t.Errorf("Stats().Closed = %d; want 1", s.Closed)
	}
}

// TestReadTimeoutFromFirstByte: a client that sends one byte of the length
// header and stops is closed after ReadTimeout, though no idle timeout is set.
func TestReadTimeoutFromFirstByte(t *testing.T) {
	h := startHost(t, func(c *Config) { c.ReadTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("half a header, 5 s later: read %v; want the host to have closed it", err)
	}
}

// TestSecondVoidJournaledAsAnswered: a second void of one sale is answered
// 12, and the journal holds 12 without an RRN, not an approval.
func TestSecondVoidJournaledAsAnswered(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	ctx := context.Background()
	sale := tm.sale(visa, 5000)
	if code := rc(tm.mustSend(sale)); code != "00" {
		t.Fatalf("sale answered %s", code)
	}
	void := tm.sale(visa, 5000)
	void.ProcessingCode = iso.ProcVoid
	void.OriginalData = iso.OriginalData(sale.MTI, sale.STAN, sale.TransmissionDT)
	if code := rc(tm.mustSend(void)); code != "00" {
		t.Fatalf("void answered %s", code)
	}
	again := *void
	again.STAN = tm.nextSTAN()
	resp := tm.mustSend(&again)
	if code := rc(resp); code != "12" {
		t.Fatalf("second void answered %s; want 12", code)
	}
	e, found, err := h.Ledger().Lookup(ctx, keyOf(&again))
	if err != nil || !found {
		t.Fatalf("second void not journaled: %v", err)
	}
	if e.RespCode != "12" || e.RRN != "" || e.AuthCode != "" {
		t.Errorf("second void journaled with code %q RRN %q auth %q; the wire said 12", e.RespCode, e.RRN, e.AuthCode)
	}
	if first, _, _ := h.Ledger().Lookup(ctx, keyOf(void)); first.RespCode != "00" {
		t.Errorf("first void journaled %q", first.RespCode)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
