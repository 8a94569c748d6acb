package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/iso"
	"github.com/possim/possim/simulators/ledger"
)

var adminNow = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

// startAdminHost runs a host on loopback TCP with a ledger in a temporary
// directory and its admin API on loopback HTTP.
func startAdminHost(t *testing.T, token string) (*acquirer.Host, *HostAdmin) {
	t.Helper()
	led, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "host.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := acquirer.New(context.Background(), acquirer.Config{Profile: profile.Default(), Ledger: led,
		Now: func() time.Time { return adminNow }})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	a := NewHostAdmin(HostAdminConfig{Host: h, Token: token, Now: func() time.Time { return adminNow }})
	if err := a.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		h.Close()
		led.Close()
	})
	return h, a
}

type adminTIDSTAN struct{}

func (adminTIDSTAN) GenerateRequestID(m *iso8583.Message) (string, error) {
	tid, _ := m.GetString(41)
	stan, _ := m.GetString(11)
	return tid + "/" + stan, nil
}

var adminSTAN atomic.Int64

// adminSale sends one card sale of amount fen over a new TCP connection
// and returns field 39 of the answer and the STAN it used.
func adminSale(t *testing.T, addr, pan string, amount int64) (rc, stan string) {
	t.Helper()
	c, err := connection.New(addr, iso.Spec87, iso.ReadLength, iso.WriteLength,
		connection.SetRequestIDGenerator(adminTIDSTAN{}), connection.SendTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stan = fmt.Sprintf("%06d", adminSTAN.Add(1))
	m, err := iso.NewMessage(&iso.Financial{MTI: iso.MTIFinancialRequest, PAN: pan, ProcessingCode: iso.ProcPurchase,
		Amount: fmt.Sprintf("%012d", amount), TransmissionDT: "1125103000", STAN: stan,
		LocalTime: "103000", LocalDate: "1125", Expiry: "3012", EntryMode: "051", ConditionCode: "00",
		TerminalID: "TERM0001", MerchantID: "123456789012345", Currency: "156", Reserved60: "0000012.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Send(m)
	if err != nil {
		t.Fatalf("sale: %v", err)
	}
	rc, _ = resp.GetString(39)
	return rc, stan
}

// call sends method path with body (JSON, may be "") to the admin API and
// returns the status and the decoded JSON object.
func call(t *testing.T, a *HostAdmin, method, path, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+a.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d, body not a JSON object: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

const visaPAN = "4761739001010010"

// TestHostAdminChangesRunningHost: each change made over HTTP applies to
// the host's very next answer on TCP, without a restart.
func TestHostAdminChangesRunningHost(t *testing.T) {
	h, a := startAdminHost(t, "")
	if rc, _ := adminSale(t, h.Addr(), visaPAN, 100); rc != "00" {
		t.Fatalf("first sale: %s, want 00", rc)
	}

	if st, out := call(t, a, "POST", "/api/cards/visa-credit/status", `{"status": "lost"}`); st != 200 || out["status"] != "lost" {
		t.Fatalf("set lost: %d %v", st, out)
	}
	if rc, _ := adminSale(t, h.Addr(), visaPAN, 100); rc != "41" {
		t.Fatalf("sale with a card turned lost: %s, want 41", rc)
	}
	call(t, a, "POST", "/api/cards/visa-credit/status", `{"status": "active"}`)

	st, out := call(t, a, "POST", "/api/faults", `{"name": "decline", "match": {"mti": "0200", "amount": "2.00"}, "action": "respond", "code": "05"}`)
	if st != 201 {
		t.Fatalf("add fault: %d %v", st, out)
	}
	if rc, _ := adminSale(t, h.Addr(), visaPAN, 100); rc != "00" {
		t.Fatalf("sale the fault does not match: %s, want 00", rc)
	}
	if rc, _ := adminSale(t, h.Addr(), visaPAN, 200); rc != "05" {
		t.Fatalf("sale after adding a fault: %s, want 05", rc)
	}
	if st, out := call(t, a, "GET", "/api/faults", ""); st != 200 || len(out["faults"].([]any)) != 0 {
		t.Fatalf("a one-shot fault that fired is gone: %d %v", st, out)
	}

	if st, out := call(t, a, "PUT", "/api/maintenance", `{"mode": "on"}`); st != 200 || out["mode"] != "respond91" {
		t.Fatalf("maintenance on: %d %v", st, out)
	}
	if rc, _ := adminSale(t, h.Addr(), visaPAN, 100); rc != "91" {
		t.Fatalf("sale in maintenance: %s, want 91", rc)
	}
	call(t, a, "PUT", "/api/maintenance", `{"mode": "off"}`)
	if rc, _ := adminSale(t, h.Addr(), visaPAN, 100); rc != "00" {
		t.Fatalf("sale after maintenance off: %s, want 00", rc)
	}

	st, out = call(t, a, "GET", "/api/statement?merchant=123456789012345&period=day", "")
	if st != 200 || out["gross"] != "3.00" || out["currency"] != "CNY" {
		t.Fatalf("statement: %d %v; want gross 3.00 CNY (three approved sales of 1.00)", st, out)
	}
	if st, out := call(t, a, "GET", "/api/discrepancies", ""); st != 200 || out["consistent"] != true {
		t.Fatalf("discrepancies: %d %v", st, out)
	}
}

// TestHostAdminRequests: /api/requests returns what the host received and
// answered, masked, filtered by TID, STAN, MTI and time.
func TestHostAdminRequests(t *testing.T) {
	h, a := startAdminHost(t, "")
	_, stan1 := adminSale(t, h.Addr(), visaPAN, 100)
	_, stan2 := adminSale(t, h.Addr(), visaPAN, 200)

	st, out := call(t, a, "GET", "/api/requests?tid=TERM0001&mti=0200&stan="+stan2, "")
	if st != 200 {
		t.Fatalf("requests: %d %v", st, out)
	}
	evs := out["requests"].([]any)
	if len(evs) != 2 {
		t.Fatalf("stan %s: %d events, want its request and answer: %v", stan2, len(evs), evs)
	}
	in, outEv := evs[0].(map[string]any), evs[1].(map[string]any)
	if in["dir"] != "in" || in["mti"] != "0200" || outEv["dir"] != "out" || outEv["mti"] != "0210" || outEv["rc"] != "00" {
		t.Fatalf("events %v", evs)
	}
	if pan := in["fields"].(map[string]any)["2"]; pan != "476173******0010" {
		t.Fatalf("PAN in /api/requests: %v, want masked", pan)
	}
	if _, err := time.Parse(time.RFC3339Nano, in["time"].(string)); err != nil {
		t.Fatalf("time %v: %v", in["time"], err)
	}
	if _, out := call(t, a, "GET", "/api/requests?stan="+stan1, ""); len(out["requests"].([]any)) != 2 {
		t.Fatalf("stan %s: %v", stan1, out)
	}
	if _, out := call(t, a, "GET", "/api/requests?tid=TERM0009", ""); len(out["requests"].([]any)) != 0 {
		t.Fatalf("other terminal: %v, want none", out)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if _, out := call(t, a, "GET", "/api/requests?since="+future, ""); len(out["requests"].([]any)) != 0 {
		t.Fatalf("since an hour from now: %v, want none", out)
	}
	if st, out := call(t, a, "GET", "/api/requests?since=yesterday", ""); st != 400 || !strings.Contains(out["error"].(string), "RFC 3339") {
		t.Fatalf("bad since: %d %v", st, out)
	}
}

// TestHostAdminErrors: mistakes are 400 or 404 with a JSON error naming
// what is valid.
func TestHostAdminErrors(t *testing.T) {
	_, a := startAdminHost(t, "")
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               []string
	}{
		{"POST", "/api/faults", `{"action": "explode"}`, 400, []string{"explode", "respond", "garble", "maintenance"}},
		{"POST", "/api/faults", `{"action": "drop", "match": {"alias": "platinum"}}`, 400, []string{"platinum", "visa-credit", "mc-debit"}},
		{"POST", "/api/faults", `[{"action": "drop"}, {"action": "drop", "bogus": 1}]`, 400, []string{"request body:1", "bogus"}},
		{"POST", "/api/cards/platinum/status", `{"status": "lost"}`, 404, []string{"platinum", "visa-credit"}},
		{"POST", "/api/cards/visa-credit/status", `{"status": "misplaced"}`, 400, []string{"misplaced", "lost", "stolen", "expired", "pin_blocked"}},
		{"PUT", "/api/maintenance", `{"mode": "sometimes"}`, 400, []string{"on", "off", "refuse"}},
		{"POST", "/api/profile/reload", ``, 400, []string{"embedded", "--profile"}},
		{"DELETE", "/api/faults/99", ``, 404, []string{"99"}},
		{"GET", "/api/statement", ``, 400, []string{"merchant", "123456789012345"}},
		{"GET", "/api/statement?merchant=999", ``, 404, []string{"999", "123456789012345"}},
		{"GET", "/api/statement?merchant=123456789012345&period=week", ``, 400, []string{"day, month or quarter"}},
		{"GET", "/api/nothing", ``, 404, []string{"host-api.md"}},
	} {
		st, out := call(t, a, tc.method, tc.path, tc.body)
		msg, _ := out["error"].(string)
		if st != tc.status {
			t.Errorf("%s %s %s: %d %v, want %d", tc.method, tc.path, tc.body, st, out, tc.status)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s %s %s: error %q does not say %q", tc.method, tc.path, tc.body, msg, w)
			}
		}
	}
	// Nothing of a refused list was installed.
	if _, out := call(t, a, "GET", "/api/faults", ""); len(out["faults"].([]any)) != 0 {
		t.Fatalf("faults after refused adds: %v", out)
	}
}

// TestHostAdminAccess: the control API's checks guard the admin API.
func TestHostAdminAccess(t *testing.T) {
	_, open := startAdminHost(t, "")
	if st, out := call(t, open, "GET", "/api/status", "", "Host", "evil.example:8584"); st != 403 || !strings.Contains(out["error"].(string), "POSSIM_TOKEN") {
		t.Fatalf("rebinding Host without a token: %d %v, want 403", st, out)
	}
	if st, out := call(t, open, "POST", "/api/maintenance", `{"mode":"on"}`, "Origin", "http://evil.example"); st != 403 {
		t.Fatalf("foreign Origin: %d %v, want 403", st, out)
	}
	if st, _ := call(t, open, "GET", "/api/status", "", "Host", "localhost:8584"); st != 200 {
		t.Fatalf("loopback Host without a token: %d, want 200", st)
	}

	_, locked := startAdminHost(t, "s3cret")
	if st, _ := call(t, locked, "GET", "/api/faults", ""); st != 401 {
		t.Fatalf("no token: %d, want 401", st)
	}
	if st, _ := call(t, locked, "GET", "/api/faults", "", "Authorization", "Bearer wrong"); st != 401 {
		t.Fatalf("wrong token: %d, want 401", st)
	}
	if st, _ := call(t, locked, "GET", "/api/faults", "", "Authorization", "Bearer s3cret", "Host", "pos-lab.example:8584"); st != 200 {
		t.Fatalf("token, any Host: %d, want 200", st)
	}

	a := NewHostAdmin(HostAdminConfig{Host: nil, Requests: acquirer.NewRequestLog(1)})
	if err := a.Start("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "token") {
		a.Close()
		t.Fatalf("binding all interfaces without a token: %v, want refused", err)
	}
}

// FuzzHostAdmin sends arbitrary methods, paths with queries and bodies: the
// admin API must answer every one with a JSON body and a documented
// status, and never panic.
func FuzzHostAdmin(f *testing.F) {
	for _, seed := range [][3]string{
		{"POST", "/api/faults", `{"action": "drop", "match": {"nth": 2}}`},
		{"PUT", "/api/faults", `[{"action": "delay", "delay": "1ms"}]`},
		{"POST", "/api/faults", `faults: [ {action: respond, code: "05"} ]`},
		{"DELETE", "/api/faults/1", ``},
		{"POST", "/api/cards/visa-credit/status", `{"status": "lost"}`},
		{"POST", "/api/cards/lost/reset_pin", ``},
		{"PUT", "/api/maintenance", `{"mode": "refuse"}`},
		{"GET", "/api/requests?stan=12&since=2026-11-25T00:00:00Z", ``},
		{"GET", "/api/statement?merchant=123456789012345&period=month&date=2026-11-25", ``},
		{"POST", "/api/profile/reload", `{}`},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	led, err := ledger.Open(context.Background(), filepath.Join(f.TempDir(), "host.db"), ledger.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer led.Close()
	h, err := acquirer.New(context.Background(), acquirer.Config{Profile: profile.Default(), Ledger: led})
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	a := NewHostAdmin(HostAdminConfig{Host: h})
	documented := map[int]bool{200: true, 201: true, 400: true, 404: true, 405: true}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n()<>@,;:\\\"/[]?={}") {
			method = "POST"
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method = method
		req.Host = "127.0.0.1:8584"
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req.URL = u
		w := httptest.NewRecorder()
		a.ServeHTTP(w, req)
		if !documented[w.Code] {
			t.Errorf("%s %q: status %d %s", method, target, w.Code, w.Body.String())
		}
		if method != "HEAD" && !json.Valid(w.Body.Bytes()) {
			t.Errorf("%s %q: body %q is not JSON", method, target, w.Body.String())
		}
	})
}
