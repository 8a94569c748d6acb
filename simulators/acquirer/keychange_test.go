package acquirer

import (
	"bytes"
	"testing"

	"github.com/possim/possim/simulators/iso"
)

// TestKeyChangeRequest: once asked, every 0210 and echo 0810 to the
// terminal carries field 53 until a key change hands out a new key; other
// terminals' answers are not flagged.
func TestKeyChangeRequest(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	tm.signOn()
	f53 := func(v any) string {
		t.Helper()
		s, _ := tm.mustSend(v).GetString(53)
		return s
	}
	echo := func(code string) *iso.Network {
		return &iso.Network{MTI: iso.MTINetworkRequest, TransmissionDT: "1125103000", STAN: tm.nextSTAN(),
			TerminalID: testTID, MerchantID: testMID, NetworkCode: code}
	}
	if got := f53(tm.sale(visa, 100)); got != "" {
		t.Fatalf("field 53 %q before any request", got)
	}
	if err := h.RequestKeyChange(testTID); err != nil {
		t.Fatal(err)
	}
	for i, v := range []any{tm.sale(visa, 100), echo(iso.NetEcho), tm.sale(visa, 200)} {
		if got := f53(v); got != KeyChangeRequired {
			t.Errorf("answer %d: field 53 %q; want %q", i, got, KeyChangeRequired)
		}
	}
	old := h.SessionKey(testTID)
	resp := tm.mustSend(echo(iso.NetKeyChange))
	if rc(resp) != "00" {
		t.Fatalf("key change answered %s", rc(resp))
	}
	f62, _ := resp.GetString(62)
	key, err := sessionKeyFrom(f62)
	if err != nil || bytes.Equal(key, old) || !bytes.Equal(key, h.SessionKey(testTID)) {
		t.Fatalf("key change: %v; want a new key that the host now holds", err)
	}
	if s, _ := resp.GetString(53); s != "" {
		t.Errorf("the key change's own answer is flagged %q", s)
	}
	if got := f53(tm.sale(visa, 300)); got != "" || len(h.KeyChangesPending()) != 0 {
		t.Errorf("after the key change: field 53 %q, pending %v", got, h.KeyChangesPending())
	}
}

// TestKeyChangeFault: a keychange fault asks the terminal whose request it
// matched, from that very answer on.
func TestKeyChangeFault(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	tm.signOn()
	if _, err := h.AddFault(Fault{Match: Match{MTI: iso.MTIFinancialRequest, Nth: 2}, Action: ActKeyChange}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, amount := range []int64{100, 200, 300} {
		resp := tm.mustSend(tm.sale(visa, amount))
		s, _ := resp.GetString(53)
		got = append(got, s+"/"+rc(resp))
	}
	want := []string{"/00", KeyChangeRequired + "/00", KeyChangeRequired + "/00"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("field 53/39 of the answers: %q; want %q", got, want)
		}
	}
	if p := h.KeyChangesPending(); len(p) != 1 || p[0] != testTID {
		t.Errorf("pending %v", p)
	}
}
