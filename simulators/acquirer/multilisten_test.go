package acquirer

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// TestListenersOfTwoDialects: one host serves a possim87 listener and a cup
// listener over TCP; each approves a sale in its own wire, and a terminal
// the profile says speaks cup is answered 58, readable, on the possim87
// listener, with the log naming the cup listener.
func TestListenersOfTwoDialects(t *testing.T) {
	cupD, err := iso.LoadDialect("cup")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{}
	h := startHost(t, func(c *Config) {
		p := profile.Default().Clone()
		p.Terminals = append(p.Terminals, profile.Terminal{ID: "CUPT0001", Merchant: testMID, Software: "2.1.0", Dialect: "cup"})
		c.Profile = p
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.StartListenerDialect(ln, cupD); err != nil {
		t.Fatal(err)
	}
	p87 := iso.Possim87()
	stan := 0
	sale := func(tid string) *iso.Financial {
		stan++
		return &iso.Financial{MTI: iso.MTIFinancialRequest, PAN: visa, ProcessingCode: iso.ProcPurchase,
			Amount: "000000000100", TransmissionDT: "1125103000", STAN: fmt.Sprintf("%06d", stan),
			LocalTime: "103000", LocalDate: "1125", Expiry: "3012", EntryMode: "051", ConditionCode: "00",
			TerminalID: tid, MerchantID: testMID, Currency: "156", Reserved60: "0000012.1.0"}
	}
	cases := []struct {
		name string
		addr string
		d    *iso.Dialect
		tid  string
		want string
	}{
		{"possim87 terminal on the possim87 listener", h.Addr(), p87, testTID, iso.RCApproved},
		{"cup terminal on the cup listener", ln.Addr().String(), cupD, "CUPT0001", iso.RCApproved},
		{"terminal without a dialect on the cup listener", ln.Addr().String(), cupD, testTID, iso.RCApproved},
		{"cup terminal on the possim87 listener", h.Addr(), p87, "CUPT0001", iso.RCNotPermittedTerm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			c := &rawDialectClient{t: t, d: tc.d, nc: nc, br: bufio.NewReader(nc)}
			s := sale(tc.tid)
			_, resp, err := c.exchange(c.frame(s, nil))
			if err != nil {
				t.Fatalf("exchange in %s: %v", tc.d.Name, err)
			}
			if got, _ := resp.GetString(11); rc(resp) != tc.want || got != s.STAN {
				t.Errorf("answered %s to STAN %s; want %s to %s", rc(resp), got, tc.want, s.STAN)
			}
		})
	}
	if got := logs.String(); !strings.Contains(got, "terminal_dialect=cup") || !strings.Contains(got, "use="+ln.Addr().String()) {
		t.Errorf("log does not name the cup listener %s:\n%s", ln.Addr(), got)
	}
	// The host counts an answer once it is written, which may be just
	// after the client has read it: wait for the count, not a duration.
	deadline := time.Now().Add(10 * time.Second)
	st := h.Stats()
	for (st.Codes[iso.RCApproved] != 3 || st.Codes[iso.RCNotPermittedTerm] != 1) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		st = h.Stats()
	}
	if st.Codes[iso.RCApproved] != 3 || st.Codes[iso.RCNotPermittedTerm] != 1 {
		t.Errorf("codes %v; want 3 approved, 1 refused", st.Codes)
	}
}
