package harness

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/bridge"
	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
)

// ErrNotLoopback is returned by Control.Start for an address other than
// loopback when no token is set: the API moves cards and PINs, so it is
// never open to the network without a token.
var ErrNotLoopback = errors.New("control API: refusing a non-loopback address without a token")

// ControlConfig configures the control API. Any device may be nil: its
// endpoints are then absent.
type ControlConfig struct {
	Printer *printer.Printer
	Reader  *cardreader.Reader
	PINPad  *pinpad.Pad
	Scanner *scanner.Scanner
	// Bridge, if set, gets /api/bridge/{fault,clear,disconnect}.
	Bridge *bridge.Bridge
	// Recorder feeds /api/events and the WebSocket stream.
	Recorder *Recorder
	// Profile, if set, is where the reader's cards came from: status and
	// error messages list its cards with ranges folded into one item
	// (load-0001..load-1024). Without it they list the reader's aliases.
	Profile *profile.Profile
	// Token, if set, is required on every request as "Authorization:
	// Bearer TOKEN" (or ?token= where a browser cannot set headers), and
	// allows binding a non-loopback address and serving any Host name.
	// Without it only loopback Host names are served.
	Token  string
	Logger *slog.Logger
	// Title heads the dashboard (default "possim devices").
	Title string
	// ClientBuffer is how many events a WebSocket client may lag behind
	// before it is dropped (default 256).
	ClientBuffer int
}

// Control is the control API: HTTP + JSON operator actions on the virtual
// devices, the event timeline, a WebSocket event stream and the dashboard.
// It is an http.Handler; Start also serves it on its own listener.
type Control struct {
	cfg      ControlConfig
	log      *slog.Logger
	devices  map[string]map[string]action
	cards    []string // the reader's cards as listed to people, ranges folded
	upgrader websocket.Upgrader

	api apiServer

	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	closed  bool
	clients map[*wsClient]struct{}
	wg      sync.WaitGroup // WebSocket handlers
}

// NewControl returns the API for the devices in cfg.
func NewControl(cfg ControlConfig) *Control {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Recorder == nil {
		cfg.Recorder = NewRecorder(nil)
	}
	if cfg.ClientBuffer <= 0 {
		cfg.ClientBuffer = 256
	}
	c := &Control{cfg: cfg, log: cfg.Logger, clients: map[*wsClient]struct{}{}}
	c.devices = c.actions()
	switch {
	case cfg.Profile != nil:
		c.cards = cfg.Profile.CardAliases()
	case cfg.Reader != nil:
		c.cards = cfg.Reader.Aliases()
	}
	c.upgrader = websocket.Upgrader{CheckOrigin: allowedOrigin}
	cfg.Recorder.Watch(c.fanout)
	return c
}

// Start binds addr and serves the API until Close. Without a token only a
// loopback address is accepted (ErrNotLoopback).
func (c *Control) Start(addr string) error {
	err := c.api.start(addr, c.cfg.Token, c, c.log)
	if err != nil && !errors.Is(err, ErrNotLoopback) {
		// ErrNotLoopback names the control API already.
		return fmt.Errorf("control API: %w", err)
	}
	return err
}

// Addr is the address Start bound, or "" before Start.
func (c *Control) Addr() string { return c.api.addr() }

// URL is the base URL of the API (and the dashboard), or "" before Start.
func (c *Control) URL() string {
	if c.api.ln == nil {
		return ""
	}
	return "http://" + c.Addr()
}

// Close stops the server, drops every WebSocket client and waits for all
// of the goroutines the API started. Later calls return the first call's
// result.
func (c *Control) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Control) close() error {
	err := c.api.shutdown()
	c.mu.Lock()
	c.closed = true
	for cl := range c.clients {
		cl.drop("server closing")
		delete(c.clients, cl)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return err
}

// ServeHTTP routes a request after the token, host and origin checks.
func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	if !checkAccess(w, r, c.cfg.Token) {
		return
	}
	path := r.URL.Path
	switch {
	case path == "/":
		c.route(w, r, http.MethodGet, c.serveDashboard)
	case path == "/api/status":
		c.route(w, r, http.MethodGet, c.serveStatus)
	case path == "/api/events":
		c.route(w, r, http.MethodGet, c.serveEvents)
	case path == "/api/events/ws":
		c.route(w, r, http.MethodGet, c.serveStream)
	case path == "/api/reset":
		c.route(w, r, http.MethodPost, c.serveReset)
	case path == "/api/printer/receipts" && c.cfg.Printer != nil:
		c.route(w, r, http.MethodGet, c.serveReceipts)
	case strings.HasPrefix(path, "/api/printer/receipts/") && c.cfg.Printer != nil:
		c.route(w, r, http.MethodGet, c.serveReceipt)
	case strings.HasPrefix(path, "/api/"):
		c.serveAction(w, r)
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such path %q; see docs/control-api.md", path))
	}
}

func (c *Control) route(w http.ResponseWriter, r *http.Request, method string, h http.HandlerFunc) {
	if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, method))
		return
	}
	h(w, r)
}

// checkAccess applies the token, Host and Origin checks every API of
// possim shares, and answers the request itself (401 or 403) when one
// fails.
func checkAccess(w http.ResponseWriter, r *http.Request, token string) bool {
	if !authorized(r, token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="possim"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer TOKEN")
		return false
	}
	// DNS rebinding: a foreign name made to resolve to 127.0.0.1 makes a
	// browser see this API as that site's own, Origin and all. Only the
	// Host header still shows the foreign name, so without a token only
	// loopback names are served.
	if token == "" && !loopbackHost(r.Host) {
		writeError(w, http.StatusForbidden, fmt.Sprintf(
			"host %q not served: without a token only loopback names are (localhost, 127.0.0.0/8, [::1]); set POSSIM_TOKEN to serve other names", r.Host))
		return false
	}
	// A browser page of another site may post to a loopback port; its
	// Origin header gives it away.
	if !allowedOrigin(r) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("origin %q not allowed: only this host or loopback", r.Header.Get("Origin")))
		return false
	}
	return true
}

func authorized(r *http.Request, token string) bool {
	if token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		got = r.URL.Query().Get("token")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// frameNone forbids framing; pages with their own policy append it.
const frameNone = "frame-ancestors 'none'"

// loopbackHost reports whether a Host header names this machine by a
// loopback name or address (localhost, 127.0.0.0/8, ::1), with or
// without a port: a name no DNS answer can point elsewhere.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport // no port
		if h, ok := strings.CutPrefix(host, "["); ok {
			host, ok = strings.CutSuffix(h, "]")
			if !ok {
				return false
			}
		}
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// allowedOrigin accepts requests without an Origin (curl, Go clients) and
// browser requests from this same host or from a loopback host.
func allowedOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// actionRequest is the JSON body of every POST action; each action reads
// the fields it needs and the rest must be absent.
type actionRequest struct {
	Card string `json:"card,omitempty"`
	PIN  string `json:"pin,omitempty"`
	Code string `json:"code,omitempty"`
	// Bridge faults.
	Kind   string `json:"kind,omitempty"`
	Dir    string `json:"dir,omitempty"`
	Delay  string `json:"delay,omitempty"`
	Count  int    `json:"count,omitempty"`
	Offset int    `json:"offset,omitempty"`
}

// action is one operator action; do returns an *apiError for bad input
// and any other error when the device refused.
type action struct {
	do func(req actionRequest) error
}

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// actions builds the table of operator actions for the devices present:
// the devices' own table (deviceActions) with the API's input checks in
// front, and the bridge's faults.
func (c *Control) actions() map[string]map[string]action {
	t := map[string]map[string]action{}
	for dev, acts := range deviceActions(c.cfg.Printer, c.cfg.Reader, c.cfg.PINPad, c.cfg.Scanner) {
		t[dev] = map[string]action{}
		for name, f := range acts {
			t[dev][name] = c.checked(dev+" "+name, f)
		}
	}
	if b := c.cfg.Bridge; b != nil {
		t["bridge"] = map[string]action{
			"fault": {do: func(req actionRequest) error {
				f, err := bridgeFault(req)
				if err != nil {
					return err
				}
				b.SetFault(f)
				c.cfg.Recorder.Add(Event{Source: "bridge", Kind: "fault", Text: describeFault(f)})
				return nil
			}},
			"clear": {do: func(actionRequest) error {
				b.ClearFaults()
				c.cfg.Recorder.Add(Event{Source: "bridge", Kind: "fault", Text: "cleared"})
				return nil
			}},
			"disconnect": {do: func(actionRequest) error {
				b.SetFault(bridge.Fault{Kind: bridge.Disconnect})
				c.cfg.Recorder.Add(Event{Source: "bridge", Kind: "fault", Text: "disconnect"})
				return nil
			}},
		}
	}
	return t
}

// checked puts the API's check of its input in front of a device action:
// a card alias of the profile, a PIN of 4 to 12 digits, a printable code;
// the other actions take no input.
func (c *Control) checked(what string, f func(string) error) action {
	switch what {
	case "cardreader insert", "cardreader tap", "cardreader swipe":
		return action{do: func(req actionRequest) error {
			if err := c.checkCard(req.Card); err != nil {
				return err
			}
			return f(req.Card)
		}}
	case "pinpad type":
		return action{do: func(req actionRequest) error {
			if err := f(req.PIN); err != nil {
				return badRequest("bad PIN: a PIN is 4 to 12 digits, as {\"pin\":\"1234\"}")
			}
			return nil
		}}
	case "scanner scan":
		return action{do: func(req actionRequest) error {
			if err := checkCode(req.Code); err != nil {
				return err
			}
			return f(req.Code)
		}}
	}
	return action{do: func(actionRequest) error { return f("") }}
}

func (c *Control) checkCard(alias string) error {
	valid := strings.Join(c.cards, ", ")
	if alias == "" {
		return badRequest(`a card is required, as {"card":"visa-credit"}; valid cards: %s`, valid)
	}
	if !slices.Contains(c.cfg.Reader.Aliases(), alias) {
		return badRequest("unknown card %q; valid cards: %s", alias, valid)
	}
	return nil
}

// checkCode keeps scans to what a barcode or QR code can carry as text:
// control characters would be taken for the suffix by the POS.
func checkCode(code string) error {
	if code == "" || len(code) > 4096 {
		return badRequest(`a code of 1 to 4096 characters is required, as {"code":"6901234567892"}`)
	}
	for _, r := range code {
		if r < 0x20 || r == 0x7f {
			return badRequest("the code contains control character %U", r)
		}
	}
	return nil
}

func bridgeFault(req actionRequest) (bridge.Fault, error) {
	kind, err := bridge.ParseFaultKind(req.Kind)
	if err != nil {
		return bridge.Fault{}, badRequest("%v", err)
	}
	f := bridge.Fault{Kind: kind, Count: req.Count, Offset: req.Offset}
	switch bridge.Dir(req.Dir) {
	case "", bridge.DevToPOS, bridge.POSToDev:
		f.Dir = bridge.Dir(req.Dir)
	default:
		return bridge.Fault{}, badRequest("unknown direction %q (want %s, %s or none for both)", req.Dir, bridge.POSToDev, bridge.DevToPOS)
	}
	if req.Count < 0 {
		return bridge.Fault{}, badRequest("count must be 0 (every chunk) or more")
	}
	if req.Delay != "" {
		d, err := time.ParseDuration(req.Delay)
		if err != nil || d < 0 {
			return bridge.Fault{}, badRequest("bad delay %q, as \"250ms\"", req.Delay)
		}
		f.Delay = d
	}
	if kind == bridge.Delay && f.Delay == 0 {
		return bridge.Fault{}, badRequest(`a delay fault needs a delay, as {"kind":"delay","delay":"250ms"}`)
	}
	return f, nil
}

func describeFault(f bridge.Fault) string {
	s := f.Kind.String()
	if f.Dir != "" {
		s += " " + string(f.Dir)
	}
	if f.Delay > 0 {
		s += " " + f.Delay.String()
	}
	if f.Count > 0 {
		s += fmt.Sprintf(" x%d", f.Count)
	}
	return s
}

// serveAction handles POST /api/DEVICE/ACTION.
func (c *Control) serveAction(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such path %q; actions are /api/DEVICE/ACTION", r.URL.Path))
		return
	}
	dev, name := parts[0], parts[1]
	acts, ok := c.devices[dev]
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown device %q; devices: %s", dev, strings.Join(sortedNames(c.devices), ", ")))
		return
	}
	act, ok := acts[name]
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown %s action %q; valid actions: %s", dev, name, strings.Join(sortedNames(acts), ", ")))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use POST", r.Method, r.URL.Path))
		return
	}
	var req actionRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("reading the body: %v", err))
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("bad JSON body: %v", err))
			return
		}
	}
	// The PIN is never logged; the card alias is not card data.
	c.log.Info("operator action", "device", dev, "action", name, "card", req.Card)
	if err := act.do(req); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			writeError(w, ae.status, ae.msg)
			return
		}
		// The device refused in its present state (a card already in the
		// slot, no POS connected): the request was fine, the moment was not.
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "device": dev, "action": name})
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Status is GET /api/status: what each device's operator panel shows.
type Status struct {
	Printer    *PrinterStatus    `json:"printer,omitempty"`
	CardReader *CardReaderStatus `json:"cardreader,omitempty"`
	PINPad     *PINPadStatus     `json:"pinpad,omitempty"`
	Scanner    *ScannerStatus    `json:"scanner,omitempty"`
	Events     int               `json:"events"`
	Dropped    uint64            `json:"events_dropped"` // oldest events dropped past the recorder's bound
}

// PrinterStatus is the printer's part of Status.
type PrinterStatus struct {
	Ready        bool   `json:"ready"`
	Reason       string `json:"reason,omitempty"`
	Online       bool   `json:"online"`
	CoverOpen    bool   `json:"cover_open"`
	PaperNearEnd bool   `json:"paper_near_end"`
	PaperOut     bool   `json:"paper_out"`
	Error        bool   `json:"error"`
	Receipts     int    `json:"receipts"`
	Last         *Event `json:"last_event,omitempty"`
}

// CardReaderStatus is the card reader's part of Status. The reader has no
// state getter, so its last event tells what it did last.
type CardReaderStatus struct {
	// Cards are the aliases a card action takes, a profile's range folded
	// into one "first..last" item.
	Cards []string `json:"cards"`
	Last  *Event   `json:"last_event,omitempty"`
}

// PINPadStatus is the PIN pad's part of Status.
type PINPadStatus struct {
	Display   string `json:"display"`
	KeyLoaded bool   `json:"key_loaded"`
	Last      *Event `json:"last_event,omitempty"`
}

// ScannerStatus is the scanner's part of Status.
type ScannerStatus struct {
	Broken bool   `json:"broken"`
	Last   *Event `json:"last_event,omitempty"`
}

// Status returns every device's state.
func (c *Control) Status() Status {
	events := c.cfg.Recorder.Events()
	last := func(source string) *Event {
		for i := len(events) - 1; i >= 0; i-- {
			if events[i].Source == source {
				e := events[i]
				return &e
			}
		}
		return nil
	}
	st := Status{Events: len(events), Dropped: c.cfg.Recorder.Dropped()}
	if p := c.cfg.Printer; p != nil {
		s := p.Status()
		st.Printer = &PrinterStatus{Ready: s.Ready(), Reason: s.Reason(), Online: s.Online, CoverOpen: s.CoverOpen,
			PaperNearEnd: s.PaperNearEnd, PaperOut: s.PaperOut, Error: s.Error, Receipts: len(p.Receipts()), Last: last("printer")}
	}
	if rd := c.cfg.Reader; rd != nil {
		st.CardReader = &CardReaderStatus{Cards: slices.Clone(c.cards), Last: last("cardreader")}
	}
	if pad := c.cfg.PINPad; pad != nil {
		st.PINPad = &PINPadStatus{Display: pad.Display(), KeyLoaded: pad.KeyLoaded() != "", Last: last("pinpad")}
	}
	if s := c.cfg.Scanner; s != nil {
		st.Scanner = &ScannerStatus{Broken: s.Broken(), Last: last("scanner")}
	}
	return st
}

func (c *Control) serveStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, c.Status())
}

// serveEvents is GET /api/events?since=N[&source=S][&kind=K].
func (c *Control) serveEvents(w http.ResponseWriter, r *http.Request) {
	since, err := sinceParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	source, kind := q.Get("source"), q.Get("kind")
	events := []Event{}
	for _, e := range c.cfg.Recorder.Since(since) {
		if (source == "" || e.Source == source) && (kind == "" || e.Kind == kind) {
			events = append(events, e)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "next": max(since, c.cfg.Recorder.Len())})
}

// serveReset is POST /api/reset: every device back to a fresh start, for
// a test run that shares one `possim devices` between scenarios. It says
// which receipt was cut last, so a run can tell its own receipts apart.
func (c *Control) serveReset(w http.ResponseWriter, r *http.Request) {
	last := 0
	if p := c.cfg.Printer; p != nil {
		p.LoadPaper()
		p.CloseCover()
		p.Fix()
		if rc, ok := p.LastReceipt(); ok {
			last = rc.Seq
		}
	}
	if rd := c.cfg.Reader; rd != nil {
		rd.Remove()
		rd.Plug()
	}
	if pad := c.cfg.PINPad; pad != nil {
		pad.Fix()
	}
	if s := c.cfg.Scanner; s != nil {
		s.Fix()
	}
	c.log.Info("operator action", "action", "reset")
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "action": "reset", "last_receipt": last})
}

func sinceParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("since")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad since=%q: want an event sequence number, 0 or more", s)
	}
	return n, nil
}

// serveReceipts is GET /api/printer/receipts: every receipt as text, or
// as JSON with ?format=json.
func (c *Control) serveReceipts(w http.ResponseWriter, r *http.Request) {
	receipts := c.cfg.Printer.Receipts()
	if r.URL.Query().Get("format") == "json" {
		type receipt struct {
			Seq  int       `json:"seq"`
			Time time.Time `json:"time"`
			Text string    `json:"text"`
			HTML string    `json:"html"` // as printed, QR codes drawn
		}
		out := make([]receipt, 0, len(receipts))
		for _, rc := range receipts {
			out = append(out, receipt{Seq: rc.Seq, Time: rc.Time, Text: rc.Text, HTML: receiptHTML(rc.HTML)})
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, rc := range receipts {
		fmt.Fprintf(w, "=== receipt %04d %s ===\n%s", rc.Seq, rc.Time.UTC().Format(time.RFC3339), rc.Text)
		if !strings.HasSuffix(rc.Text, "\n") {
			io.WriteString(w, "\n")
		}
	}
}

// serveReceipt is GET /api/printer/receipts/N[?format=html].
func (c *Control) serveReceipt(w http.ResponseWriter, r *http.Request) {
	s := strings.TrimPrefix(r.URL.Path, "/api/printer/receipts/")
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad receipt number %q: want 1, 2, ...", s))
		return
	}
	var rc *printer.Receipt
	for _, x := range c.cfg.Printer.Receipts() {
		if x.Seq == n {
			rc = &x
			break
		}
	}
	if rc == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no receipt %d (%d printed)", n, len(c.cfg.Printer.Receipts())))
		return
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, rc.Text)
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "+frameNone)
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Receipt %04d</title></head><body>\n%s</body></html>\n", rc.Seq, rc.HTML)
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown format %q; want text or html", f))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
