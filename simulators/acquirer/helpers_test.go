package acquirer

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

// Test world: the default profile, a fixed clock.
const (
	testTID = "TERM0001"
	testMID = "123456789012345"
	visa    = "4761739001010010"
	mc      = "5413330089010012"
	cup     = "6250947000000014"
	qrCode  = "281234567890123456"
)

var testNow = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

// testLogger routes host logs to t.Log, so they show only on failure.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func openLedger(t testing.TB, dir string) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), filepath.Join(dir, "host.db"), ledger.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// startHost runs a host on loopback with a fresh ledger; mod adjusts the config.
func startHost(t testing.TB, mod func(*Config)) *Host {
	t.Helper()
	l := openLedger(t, t.TempDir())
	cfg := Config{Profile: profile.Default(), Ledger: l, Logger: testLogger(t), Now: func() time.Time { return testNow }}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		l.Close()
	})
	return h
}

// tidSTAN matches responses on TID + STAN, as a terminal does.
type tidSTAN struct{}

func (tidSTAN) GenerateRequestID(m *iso8583.Message) (string, error) {
	tid, _ := m.GetString(41)
	stan, _ := m.GetString(11)
	return tid + "/" + stan, nil
}

// terminal is a test client: one iso8583-connection to the host.
type terminal struct {
	t    testing.TB
	c    *connection.Connection
	stan *atomic.Int64
	key  []byte // session PIN key after signOn
}

var stanSeq atomic.Int64

func dial(t testing.TB, addr string) *terminal {
	t.Helper()
	c, err := connection.New(addr, iso.Spec87, iso.ReadLength, iso.WriteLength,
		connection.SetRequestIDGenerator(tidSTAN{}), connection.SendTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &terminal{t: t, c: c, stan: &stanSeq}
}

func (tm *terminal) nextSTAN() string {
	return fmt.Sprintf("%06d", tm.stan.Add(1)%1000000)
}

// pack packs v (an iso struct) as a terminal sends it, without the length
// header.
func pack(t testing.TB, v any) []byte {
	t.Helper()
	m, err := iso.NewMessage(v)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// send sends v (an iso struct) and returns the decoded response.
func (tm *terminal) send(v any) (*iso8583.Message, error) {
	m, err := iso.NewMessage(v)
	if err != nil {
		tm.t.Fatal(err)
	}
	return tm.c.Send(m)
}

func (tm *terminal) mustSend(v any) *iso8583.Message {
	tm.t.Helper()
	resp, err := tm.send(v)
	if err != nil {
		tm.t.Fatalf("send: %v", err)
	}
	return resp
}

func rc(m *iso8583.Message) string {
	s, _ := m.GetString(39)
	return s
}

// signOn signs TERM0001 on and keeps the session key from field 62.
func (tm *terminal) signOn() {
	tm.t.Helper()
	resp := tm.mustSend(&iso.Network{MTI: iso.MTINetworkRequest, TransmissionDT: "1125103000", STAN: tm.nextSTAN(),
		TerminalID: testTID, MerchantID: testMID, Reserved60: "2.1.0", NetworkCode: iso.NetSignOn})
	if rc(resp) != "00" {
		tm.t.Fatalf("sign-on answered %s", rc(resp))
	}
	f62, _ := resp.GetString(62)
	key, err := sessionKeyFrom(f62)
	if err != nil {
		tm.t.Fatal(err)
	}
	tm.key = key
}

// sessionKeyFrom decrypts field 62 under the default TMK and checks the KCV.
func sessionKeyFrom(f62 string) ([]byte, error) {
	if len(f62) != 38 {
		return nil, fmt.Errorf("field 62 %q: want 38 characters", f62)
	}
	enc := make([]byte, 16)
	if _, err := fmt.Sscanf(f62[:32], "%x", &enc); err != nil {
		return nil, err
	}
	key, err := card.DecryptKey(profile.Default().Keys.TMK(), enc)
	if err != nil {
		return nil, err
	}
	if kcv, _ := card.KCV(key); kcv != f62[32:] {
		return nil, fmt.Errorf("KCV %s, field 62 says %s", kcv, f62[32:])
	}
	return key, nil
}

// sale builds a card sale of amount fen.
func (tm *terminal) sale(pan string, amount int64) *iso.Financial {
	return &iso.Financial{MTI: iso.MTIFinancialRequest, PAN: pan, ProcessingCode: iso.ProcPurchase,
		Amount: fmt.Sprintf("%012d", amount), TransmissionDT: "1125103000", STAN: tm.nextSTAN(),
		LocalTime: "103000", LocalDate: "1125", Expiry: "3012", EntryMode: "051", ConditionCode: "00",
		TerminalID: testTID, MerchantID: testMID, Currency: "156", Reserved60: "0000012.1.0"}
}

func (tm *terminal) withPIN(f *iso.Financial, pin string) *iso.Financial {
	tm.t.Helper()
	b, err := card.EncryptPIN(tm.key, pin, f.PAN)
	if err != nil {
		tm.t.Fatal(err)
	}
	f.PINBlock = b
	return f
}

// chip adds field 55 with a correct ARQC for the sale; it returns the
// session key to check the ARPC with.
func chip(t testing.TB, f *iso.Financial, amount int64) (sk, arqc []byte) {
	t.Helper()
	r := card.ICCRequest{Amount: amount, CountryCode: "0156", CurrencyCode: "0156", Date: "261125",
		UnpredictableNumber: [4]byte{1, 2, 3, 4}, AIP: [2]byte{0x39, 0x00}, ATC: 7, PANSeq: "01"}
	mk, err := card.DeriveICCMasterKey(profile.Default().Keys.IMK(), f.PAN, "01")
	if err != nil {
		t.Fatal(err)
	}
	sk, err = card.SessionKey(mk, r.ATC)
	if err != nil {
		t.Fatal(err)
	}
	arqc, err = card.ARQC(sk, card.CDOL1Data(r))
	if err != nil {
		t.Fatal(err)
	}
	f.ICC = card.BuildICCData(r, arqc)
	f.CardSeq = "001"
	return sk, arqc
}

func reversalOf(f *iso.Financial, stan string) *iso.Financial {
	r := *f
	r.MTI = iso.MTIReversal
	r.STAN = stan
	r.PINBlock, r.ICC = nil, nil
	r.OriginalData = iso.OriginalData(f.MTI, f.STAN, f.TransmissionDT)
	return &r
}

// keyOf is the journal key the host gives f.
func keyOf(f *iso.Financial) ledger.Key {
	return ledger.Key{TID: f.TerminalID, STAN: f.STAN, Date: f.TransmissionDT[:4]}
}
