package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
	"github.com/possim/possim/virtualdevices/serial"
)

// controlFixture is a rack on real ptys behind the control API on a real
// loopback HTTP server.
type controlFixture struct {
	rack *Rack
	dir  string
	ctl  *Control
	srv  *httptest.Server
}

func newControlFixture(t *testing.T) *controlFixture {
	t.Helper()
	rack, dir := newTestRack(t)
	ctl := NewControl(ControlConfig{Printer: rack.Printer, Reader: rack.Reader, PINPad: rack.PINPad,
		Scanner: rack.Scanner, Recorder: rack.Recorder, Profile: rack.Profile, Logger: rackTestLogger(t)})
	srv := httptest.NewServer(ctl)
	t.Cleanup(func() {
		if err := ctl.Close(); err != nil {
			t.Errorf("control close: %v", err)
		}
		srv.Close()
	})
	return &controlFixture{rack: rack, dir: dir, ctl: ctl, srv: srv}
}

// do sends a request and returns the status and body.
func (f *controlFixture) do(t *testing.T, method, path, body string, header http.Header) (int, string) {
	t.Helper()
	resp, b := f.doHost(t, method, path, body, "", header)
	return resp.StatusCode, b
}

// doHost sends a request with the Host header set to host ("": the
// server's address) and returns the response and its body.
func (f *controlFixture) doHost(t *testing.T, method, path, body, host string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func (f *controlFixture) dialStream(t *testing.T, query string, header http.Header) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/events/ws" + query
	conn, resp, err := websocket.DefaultDialer.DialContext(t.Context(), url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// nextEvent reads stream events until one of source and kind arrives.
func nextEvent(t *testing.T, conn *websocket.Conn, source, kind string) Event {
	t.Helper()
	// A deadline so a missing event fails the test instead of hanging it.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var e Event
		if err := conn.ReadJSON(&e); err != nil {
			t.Fatalf("waiting for %s/%s: %v", source, kind, err)
		}
		if e.Source == source && e.Kind == kind {
			return e
		}
	}
}

// TestControlInsertCard inserts a card with a POST, sees the masked event
// on the WebSocket, and reads the card as a POS does through the pty.
func TestControlInsertCard(t *testing.T) {
	f := newControlFixture(t)
	ws := f.dialStream(t, "", nil)

	if code, body := f.do(t, "POST", "/api/cardreader/insert", `{"card":"visa-credit"}`, nil); code != http.StatusOK {
		t.Fatalf("insert: %d %s", code, body)
	}
	e := nextEvent(t, ws, "cardreader", "insert")
	if e.Text != "476173******0010" {
		t.Errorf("insert event text %q, want the masked PAN", e.Text)
	}

	port, err := serial.OpenRaw(f.rack.Paths()["cardreader"])
	if err != nil {
		t.Fatal(err)
	}
	drv := cardreader.NewDriver(port, cardreader.DriverConfig{})
	defer drv.Close()
	read, err := drv.WaitCard(t.Context(), cardreader.Request{Amount: 350, Modes: cardreader.ModeChip, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if read.PAN != "4761739001010010" || read.Entry != cardreader.EntryChip {
		t.Errorf("POS read %s %s", read.Entry, read.PAN[:6])
	}
	e = nextEvent(t, ws, "cardreader", "read")
	if strings.Contains(e.Text, "4761739001010010") {
		t.Errorf("read event carries a clear PAN: %q", e.Text)
	}

	// A second card while one is in the slot: the device refuses.
	if code, body := f.do(t, "POST", "/api/cardreader/insert", `{"card":"mc-debit"}`, nil); code != http.StatusConflict {
		t.Errorf("second insert: %d %s", code, body)
	}
	var ev struct {
		Events []Event `json:"events"`
		Next   int     `json:"next"`
	}
	_, body := f.do(t, "GET", "/api/events?since=0&source=cardreader&kind=insert", "", nil)
	if err := json.Unmarshal([]byte(body), &ev); err != nil || len(ev.Events) != 1 || ev.Next < 2 {
		t.Errorf("GET /api/events: %v %s", err, body)
	}
}

// TestControlErrors checks the answers to bad requests.
func TestControlErrors(t *testing.T) {
	f := newControlFixture(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 []string
	}{
		{"unknown card", "POST", "/api/cardreader/insert", `{"card":"amex"}`, 400, []string{`unknown card \"amex\"`, "visa-credit", "mc-debit", "swipe-only"}},
		{"missing card", "POST", "/api/cardreader/tap", ``, 400, []string{"visa-credit"}},
		{"tap a chip-only card", "POST", "/api/cardreader/tap", `{"card":"cup-debit"}`, 409, []string{"not contactless"}},
		{"bad pin", "POST", "/api/pinpad/type", `{"pin":"12a4"}`, 400, []string{"4 to 12 digits"}},
		{"unknown action", "POST", "/api/printer/jam", ``, 400, []string{"paper-out", "load-paper", "open-cover"}},
		{"unknown device", "POST", "/api/drawer/open", ``, 400, []string{"cardreader", "pinpad", "printer", "scanner"}},
		{"bad json", "POST", "/api/scanner/scan", `{"code":`, 400, []string{"bad JSON"}},
		{"unknown field", "POST", "/api/scanner/scan", `{"barcode":"1"}`, 400, []string{"barcode"}},
		{"control character in code", "POST", "/api/scanner/scan", `{"code":"12\r34"}`, 400, []string{"control character"}},
		{"wrong method", "GET", "/api/cardreader/insert", ``, 405, []string{"use POST"}},
		{"wrong method on status", "POST", "/api/status", ``, 405, []string{"use GET"}},
		{"unknown path", "GET", "/nope", ``, 404, []string{"no such path"}},
		{"too deep", "POST", "/api/printer/fix/now", ``, 404, []string{"no such path"}},
		{"no receipt yet", "GET", "/api/printer/receipts/1", ``, 404, []string{"no receipt 1"}},
		{"bad receipt number", "GET", "/api/printer/receipts/x", ``, 400, []string{"bad receipt number"}},
		{"bad since", "GET", "/api/events?since=-1", ``, 400, []string{"since"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.do(t, tt.method, tt.path, tt.body, nil)
			if code != tt.status {
				t.Errorf("%s %s = %d, want %d: %s", tt.method, tt.path, code, tt.status, body)
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("body is not a JSON error: %q", body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("error %q does not mention %q", body, s)
				}
			}
		})
	}
}

// TestControlOrigin refuses browser requests from a foreign site, on the
// WebSocket and on actions.
func TestControlOrigin(t *testing.T) {
	f := newControlFixture(t)
	url := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/events/ws"
	_, resp, err := websocket.DefaultDialer.DialContext(t.Context(), url, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin on the stream: err %v, resp %v", err, resp)
	}
	if code, body := f.do(t, "POST", "/api/printer/paper-out", "", http.Header{"Origin": {"http://evil.example"}}); code != http.StatusForbidden {
		t.Errorf("foreign origin on an action: %d %s", code, body)
	}
	if st := f.rack.Printer.Status(); st.PaperOut {
		t.Error("a refused request changed the printer")
	}
	// The dashboard's own origin and other loopback pages are fine.
	for _, origin := range []string{f.srv.URL, "http://localhost:8080", "http://[::1]:3000"} {
		f.dialStream(t, "", http.Header{"Origin": {origin}})
	}
	if code, body := f.do(t, "POST", "/api/printer/paper-out", "", http.Header{"Origin": {f.srv.URL}}); code != http.StatusOK {
		t.Errorf("own origin: %d %s", code, body)
	}
	if !f.rack.Printer.Status().PaperOut {
		t.Error("paper-out did not reach the printer")
	}
}

// TestControlBinding refuses a non-loopback address without a token and
// requires the token once given.
func TestControlBinding(t *testing.T) {
	ctl := NewControl(ControlConfig{})
	if err := ctl.Start("0.0.0.0:0"); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("Start(0.0.0.0:0) without token = %v, want ErrNotLoopback", err)
	}
	if err := ctl.Close(); err != nil {
		t.Errorf("Close of an unstarted API: %v", err)
	}

	ctl = NewControl(ControlConfig{Token: "s3cret"})
	if err := ctl.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	get := func(auth string) int {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", ctl.URL()+"/api/status", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for auth, want := range map[string]int{"": 401, "Bearer wrong": 401, "s3cret": 401, "Bearer s3cret": 200} {
		if got := get(auth); got != want {
			t.Errorf("Authorization %q: %d, want %d", auth, got, want)
		}
	}
}

// TestControlDevices drives the printer, PIN pad and scanner through the
// API and checks each reached the device and its POS side.
func TestControlDevices(t *testing.T) {
	f := newControlFixture(t)

	// Printer: a POS prints; the receipt is served as text and HTML.
	port, err := serial.OpenRaw(f.rack.Paths()["printer"])
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	receipt := printer.NewBuilder(printer.ASCII).Init().Line("DEMO MART").Line("CARD 476173******0010").Cut().Bytes()
	if err := printer.NewDriver(port).Print(t.Context(), receipt); err != nil {
		t.Fatal(err)
	}
	if code, body := f.do(t, "GET", "/api/printer/receipts", "", nil); code != 200 || !strings.Contains(body, "=== receipt 0001") || !strings.Contains(body, "DEMO MART") {
		t.Errorf("receipts: %d %s", code, body)
	}
	if code, body := f.do(t, "GET", "/api/printer/receipts/1?format=html", "", nil); code != 200 || !strings.Contains(body, "<html>") || !strings.Contains(body, "DEMO MART") {
		t.Errorf("receipt 1 html: %d %s", code, body)
	}

	// Scanner: a scan reaches the POS reading the pty.
	sport, err := serial.OpenRaw(f.rack.Paths()["scanner"])
	if err != nil {
		t.Fatal(err)
	}
	defer sport.Close()
	sdrv := scanner.NewDriver(sport, nil)
	if err := sdrv.Probe(t.Context()); err != nil { // the POS is connected before the scan
		t.Fatal(err)
	}
	if code, body := f.do(t, "POST", "/api/scanner/scan", `{"code":"6901234567892"}`, nil); code != 200 {
		t.Fatalf("scan: %d %s", code, body)
	}
	if code, err := sdrv.ReadScan(t.Context()); err != nil || code != "6901234567892" {
		t.Errorf("POS read scan %q, %v", code, err)
	}

	// Operator state shows in /api/status.
	for _, a := range []string{"/api/printer/open-cover", "/api/scanner/break", "/api/pinpad/type", "/api/pinpad/break"} {
		body := ""
		if a == "/api/pinpad/type" {
			body = `{"pin":"1234"}`
		}
		if code, resp := f.do(t, "POST", a, body, nil); code != 200 {
			t.Errorf("%s: %d %s", a, code, resp)
		}
	}
	var st Status
	_, body := f.do(t, "GET", "/api/status", "", nil)
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Printer == nil || !st.Printer.CoverOpen || st.Printer.Ready || st.Printer.Receipts != 1 {
		t.Errorf("printer status %+v", st.Printer)
	}
	if st.Scanner == nil || !st.Scanner.Broken {
		t.Errorf("scanner status %+v", st.Scanner)
	}
	if st.CardReader == nil || !slices.Contains(st.CardReader.Cards, "visa-credit") {
		t.Errorf("card reader status %+v", st.CardReader)
	}
	if strings.Contains(body, "1234") {
		t.Errorf("status mentions the typed PIN: %s", body)
	}
	if code, body := f.do(t, "GET", "/", "", nil); code != 200 || !strings.Contains(body, "/api/events/ws") {
		t.Errorf("dashboard: %d", code)
	}
}

// TestStreamBacklog replays the timeline from ?since=N before live events.
func TestStreamBacklog(t *testing.T) {
	f := newControlFixture(t)
	f.rack.Recorder.Add(Event{Source: "test", Kind: "one"})
	f.rack.Recorder.Add(Event{Source: "test", Kind: "two"})
	ws := f.dialStream(t, "?since=0", nil)
	one := nextEvent(t, ws, "test", "one")
	two := nextEvent(t, ws, "test", "two")
	late := f.dialStream(t, fmt.Sprintf("?since=%d", one.Seq), nil)
	f.rack.Recorder.Add(Event{Source: "test", Kind: "three"})
	if three := nextEvent(t, ws, "test", "three"); three.Seq <= two.Seq {
		t.Errorf("live event seq %d after %d", three.Seq, two.Seq)
	}
	// The late stream starts after "one": its first test event is "two".
	late.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var e Event
		if err := late.ReadJSON(&e); err != nil {
			t.Fatal(err)
		}
		if e.Source == "test" {
			if e.Kind != "two" {
				t.Errorf("first test event after since=%d: %s", one.Seq, e.Kind)
			}
			break
		}
	}
}

// TestSlowClientDropped checks that fan-out never blocks the recorder: a
// client whose buffer is full is dropped.
func TestSlowClientDropped(t *testing.T) {
	rec := NewRecorder(nil)
	ctl := NewControl(ControlConfig{Recorder: rec, ClientBuffer: 2})
	defer ctl.Close()
	slow := &wsClient{send: make(chan Event, 2), done: make(chan struct{})}
	ctl.mu.Lock()
	ctl.clients[slow] = struct{}{}
	ctl.mu.Unlock()
	for range 5 { // nobody reads slow.send: Add must still return
		rec.Add(Event{Source: "test", Kind: "tick"})
	}
	select {
	case <-slow.done:
	default:
		t.Fatal("slow client not dropped")
	}
	ctl.mu.Lock()
	n := len(ctl.clients)
	ctl.mu.Unlock()
	if n != 0 || len(slow.send) != 2 {
		t.Errorf("%d clients left, %d events queued", n, len(slow.send))
	}
}

// TestCloseEndsStreams checks Close drops live WebSocket clients and waits.
func TestCloseEndsStreams(t *testing.T) {
	f := newControlFixture(t)
	ws := f.dialStream(t, "", nil)
	f.rack.Recorder.Add(Event{Source: "test", Kind: "hello"})
	nextEvent(t, ws, "test", "hello")
	if err := f.ctl.Close(); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("read after Close: %v, want a going-away close", err)
	}
}

// FuzzControlAction sends arbitrary action paths and bodies: the API must
// answer every one with a JSON body and a status it documents, and never
// panic.
func FuzzControlAction(f *testing.F) {
	for _, seed := range [][2]string{
		{"/api/cardreader/insert", `{"card":"visa-credit"}`},
		{"/api/cardreader/swipe", `{"card":"swipe-only"}`},
		{"/api/pinpad/type", `{"pin":"1234"}`},
		{"/api/scanner/scan", `{"code":"6901234567892"}`},
		{"/api/printer/paper-out", ``},
		{"/api/cardreader/remove", `{}`},
		{"/api/x/y", `{"card":1}`},
		{"/api//", `[`},
	} {
		f.Add(seed[0], seed[1])
	}
	rack, err := NewRack(RackConfig{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	defer rack.Close()
	ctl := NewControl(ControlConfig{Printer: rack.Printer, Reader: rack.Reader, PINPad: rack.PINPad,
		Scanner: rack.Scanner, Recorder: rack.Recorder, Profile: rack.Profile})
	defer ctl.Close()
	documented := map[int]bool{200: true, 400: true, 404: true, 405: true, 409: true}
	f.Fuzz(func(t *testing.T, path, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Host = "127.0.0.1:7070"
		req.URL.Path = path
		w := httptest.NewRecorder()
		ctl.ServeHTTP(w, req)
		if !documented[w.Code] {
			t.Errorf("POST %q: status %d", path, w.Code)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Errorf("POST %q: body %q is not JSON", path, w.Body.String())
		}
	})
}

// BenchmarkFanout is the cost a device pays per event with four stream
// clients attached.
func BenchmarkFanout(b *testing.B) {
	rec := NewRecorder(nil)
	ctl := NewControl(ControlConfig{Recorder: rec, ClientBuffer: 1 << 20})
	defer ctl.Close()
	for range 4 {
		ctl.clients[&wsClient{send: make(chan Event, 1<<20), done: make(chan struct{})}] = struct{}{}
	}
	e := Event{Source: "cardreader", Kind: "insert", Text: "476173******0010"}
	b.ReportAllocs()
	for b.Loop() {
		ctl.fanout(e)
	}
}

// TestControlHostRebinding plays a DNS-rebinding page: a foreign name made
// to resolve to 127.0.0.1, so the browser sends that name as Host and as
// Origin. Without a token the API refuses it on actions, the event poll
// and the WebSocket, and keeps serving the loopback names.
func TestControlHostRebinding(t *testing.T) {
	f := newControlFixture(t)
	_, port, err := net.SplitHostPort(f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	evil := "evil.example:" + port
	evilOrigin := http.Header{"Origin": {"http://" + evil}}
	for _, tt := range []struct {
		method, path string
		header       http.Header
	}{
		{"POST", "/api/printer/paper-out", evilOrigin},
		{"GET", "/api/events?since=0", evilOrigin},
		{"GET", "/api/events?since=0", nil}, // a same-origin GET need not carry Origin
		{"GET", "/api/status", nil},
		{"GET", "/", nil},
	} {
		resp, body := f.doHost(t, tt.method, tt.path, "", evil, tt.header)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "POSSIM_TOKEN") || !strings.Contains(body, evil) {
			t.Errorf("%s %s with Host %s: %d %s; want 403 naming the host and POSSIM_TOKEN", tt.method, tt.path, evil, resp.StatusCode, body)
		}
	}
	if f.rack.Printer.Status().PaperOut {
		t.Error("a rebound request changed the printer")
	}
	wsURL := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/events/ws?since=0"
	conn, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, http.Header{"Host": {evil}, "Origin": {"http://" + evil}})
	if err == nil {
		conn.Close()
	}
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("WebSocket with Host %s: err %v, resp %v; want 403", evil, err, resp)
	}

	// The loopback names, as a browser on this machine sends them.
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port, "LocalHost:" + port, "127.0.0.2:" + port, "localhost"} {
		origin := http.Header{"Origin": {"http://" + host}}
		if resp, body := f.doHost(t, "POST", "/api/printer/near-end", "", host, origin); resp.StatusCode != http.StatusOK {
			t.Errorf("POST with Host %s: %d %s", host, resp.StatusCode, body)
		}
		if resp, body := f.doHost(t, "GET", "/api/events?since=0", "", host, origin); resp.StatusCode != http.StatusOK {
			t.Errorf("GET events with Host %s: %d %s", host, resp.StatusCode, body)
		}
		conn, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, http.Header{"Host": {host}, "Origin": {"http://" + host}})
		if err != nil {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("WebSocket with Host %s: %v (HTTP %d)", host, err, status)
			continue
		}
		conn.Close()
	}
}

// TestControlTokenServesOtherNames: with a token the API may be reached
// by any name, since a rebinding page cannot know the token.
func TestControlTokenServesOtherNames(t *testing.T) {
	ctl := NewControl(ControlConfig{Token: "s3cret"})
	srv := httptest.NewServer(ctl)
	defer srv.Close()
	defer ctl.Close()
	for auth, want := range map[string]int{"": http.StatusUnauthorized, "Bearer s3cret": http.StatusOK} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/status", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "lab-pc.example:7070"
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host lab-pc.example, Authorization %q: %d, want %d", auth, resp.StatusCode, want)
		}
	}
}

func TestLoopbackHost(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1": true, "127.0.0.1:7070": true, "127.9.8.7:1": true, "localhost": true, "localhost:80": true,
		"LOCALHOST:80": true, "[::1]": true, "[::1]:7070": true, "::1": true, "[::ffff:127.0.0.1]:7070": true,
		"": false, "evil.example:7070": false, "localhost.evil.example:7070": false, "127.0.0.1.evil.example": false,
		"10.0.0.1:7070": false, "[::2]:7070": false, "[::1": false, "0.0.0.0:7070": false, "[fe80::1%25lo]:7070": false,
		"sub.localhost:7070": false,
	}
	for host, want := range tests {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestControlNoFraming: every response forbids framing, the dashboard's
// included, and the dashboard's policy still lets its inline script run.
func TestControlNoFraming(t *testing.T) {
	f := newControlFixture(t)
	for _, tt := range []struct{ method, path, host string }{
		{"GET", "/", ""},
		{"GET", "/api/status", ""},
		{"GET", "/api/events", ""},
		{"POST", "/api/printer/fix", ""},
		{"GET", "/nope", ""},
		{"GET", "/api/status", "evil.example"},
	} {
		resp, body := f.doHost(t, tt.method, tt.path, "", tt.host, nil)
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s %s (%d): X-Frame-Options %q, want DENY", tt.method, tt.path, resp.StatusCode, got)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s %s (%d): Content-Security-Policy %q lacks frame-ancestors 'none'", tt.method, tt.path, resp.StatusCode, csp)
		}
		if tt.path == "/" {
			if !strings.Contains(csp, "script-src 'unsafe-inline'") || !strings.Contains(body, "<script>") || strings.Contains(body, "<script src") {
				t.Errorf("dashboard: policy %q does not fit its inline script", csp)
			}
		}
	}
}

// TestControlStatusFoldsCards: status lists a profile's card range as one
// item, as error messages do, not 1024 load cards.
func TestControlStatusFoldsCards(t *testing.T) {
	f := newControlFixture(t)
	code, body := f.do(t, "GET", "/api/status", "", nil)
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	cards := st.CardReader.Cards
	if !slices.Contains(cards, "load-0001..load-1024") || slices.Contains(cards, "load-0002") || len(cards) > 20 {
		t.Errorf("status cards (%d): %q; want the load range folded", len(cards), cards)
	}
	if !slices.Contains(cards, "visa-credit") {
		t.Errorf("status cards %q lack visa-credit", cards)
	}
	code, body = f.do(t, "POST", "/api/cardreader/insert", `{"card":"amex"}`, nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "load-0001..load-1024") {
		t.Errorf("unknown card: %d %s; want the folded range listed", code, body)
	}
	// A card of the range is still a card.
	if code, body := f.do(t, "POST", "/api/cardreader/insert", `{"card":"load-0500"}`, nil); code != http.StatusOK {
		t.Errorf("insert load-0500: %d %s", code, body)
	}
}
