package harness

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/possim/possim/simulators/acquirer"
)

// HostAdminConfig configures the host admin API.
type HostAdminConfig struct {
	Host *acquirer.Host
	// ProfilePath is the file the host's profile was loaded from, read
	// again by /api/profile/reload; "" when it runs on the embedded one.
	ProfilePath string
	// Requests feeds /api/requests; nil: a log of
	// acquirer.DefaultRequestLogSize started by NewHostAdmin.
	Requests *acquirer.RequestLog
	// Token, as ControlConfig.Token: required on every request when set,
	// and the only way to bind a non-loopback address or serve other
	// Host names.
	Token  string
	Logger *slog.Logger
	Now    func() time.Time // the default statement date; nil: time.Now
}

// HostAdmin is the mock acquirer host's admin API: HTTP + JSON knobs that
// change a running host's answers from the next request on (faults, card
// statuses, maintenance, profile reload) and views of what it did (the
// requests it received and answered, the ledger's statement and
// discrepancies). It is an http.Handler; Start also serves it.
type HostAdmin struct {
	cfg HostAdminConfig
	log *slog.Logger
	h   *acquirer.Host
	req *acquirer.RequestLog
	// mu serialises the changes, so that a reload and a fault edit made
	// together land one after the other.
	mu sync.Mutex

	api       apiServer
	closeOnce sync.Once
	closeErr  error
}

// NewHostAdmin returns the admin API of cfg.Host.
func NewHostAdmin(cfg HostAdminConfig) *HostAdmin {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Requests == nil {
		cfg.Requests = cfg.Host.RecordRequests(0)
	}
	return &HostAdmin{cfg: cfg, log: cfg.Logger, h: cfg.Host, req: cfg.Requests}
}

// Start binds addr and serves the API until Close. Without a token only a
// loopback address is accepted (ErrNotLoopback).
func (a *HostAdmin) Start(addr string) error {
	if err := a.api.start(addr, a.cfg.Token, a, a.log); err != nil {
		return fmt.Errorf("host admin API: %w", err)
	}
	return nil
}

// Addr is the address Start bound, or "" before Start.
func (a *HostAdmin) Addr() string { return a.api.addr() }

// Close stops the server and waits for it; later calls return the first
// call's result.
func (a *HostAdmin) Close() error {
	a.closeOnce.Do(func() { a.closeErr = a.api.shutdown() })
	return a.closeErr
}

// maxBody bounds a request body: fault lists are small.
const maxBody = 1 << 20

// ServeHTTP routes a request after the token, Host and Origin checks the
// control API makes.
func (a *HostAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	if !checkAccess(w, r, a.cfg.Token) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	path := strings.TrimSuffix(r.URL.Path, "/")
	var err error
	switch {
	case path == "":
		err = a.only(w, r, func(w http.ResponseWriter, r *http.Request) error {
			writeDashboard(w, dashboardConfig{Title: "possim host", Mode: "host"})
			return nil
		}, http.MethodGet)
	case path == "/api/status":
		err = a.only(w, r, a.serveStatus, http.MethodGet)
	case path == "/api/faults":
		err = a.only(w, r, a.serveFaults, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete)
	case strings.HasPrefix(path, "/api/faults/"):
		err = a.only(w, r, a.serveFault, http.MethodGet, http.MethodDelete)
	case path == "/api/cards":
		err = a.only(w, r, a.serveCards, http.MethodGet)
	case strings.HasPrefix(path, "/api/cards/"):
		err = a.serveCard(w, r, strings.TrimPrefix(path, "/api/cards/"))
	case path == "/api/maintenance":
		err = a.only(w, r, a.serveMaintenance, http.MethodGet, http.MethodPost, http.MethodPut)
	case path == "/api/keychange":
		err = a.only(w, r, a.serveKeyChange, http.MethodGet, http.MethodPost)
	case path == "/api/profile/reload":
		err = a.only(w, r, a.serveReload, http.MethodPost)
	case path == "/api/requests":
		err = a.only(w, r, a.serveRequests, http.MethodGet)
	case path == "/api/statement":
		err = a.only(w, r, a.serveStatement, http.MethodGet)
	case path == "/api/discrepancies":
		err = a.only(w, r, a.serveDiscrepancies, http.MethodGet)
	default:
		err = &httpError{http.StatusNotFound, fmt.Sprintf("no such path %q; see docs/host-api.md", r.URL.Path)}
	}
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = &httpError{http.StatusInternalServerError, err.Error()}
		}
		writeError(w, he.status, he.msg)
	}
}

// httpError is an error with the status it is answered with.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func bad(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func (a *HostAdmin) only(w http.ResponseWriter, r *http.Request, f func(http.ResponseWriter, *http.Request) error, methods ...string) error {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return f(w, r)
		}
	}
	allow := strings.Join(methods, ", ")
	w.Header().Set("Allow", allow)
	return &httpError{http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, allow)}
}

// readBody reads the whole request body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, bad("request body over %d bytes", mbe.Limit)
		}
		return nil, bad("reading request body: %v", err)
	}
	return b, nil
}

type hostStatus struct {
	Maintenance  string `json:"maintenance"`
	Faults       int    `json:"faults"`
	ProfileFile  string `json:"profile_file"`
	Requests     int    `json:"requests_kept"`
	Connections  int    `json:"connections"`
	Accepted     int64  `json:"connections_accepted"`
	Malformed    int64  `json:"malformed"`
	RequestsSeen int64  `json:"requests_received"`
}

func (a *HostAdmin) serveStatus(w http.ResponseWriter, r *http.Request) error {
	st := a.h.Stats()
	var in int64
	for _, n := range st.In {
		in += n
	}
	file := a.cfg.ProfilePath
	if file == "" {
		file = "(embedded)"
	}
	writeJSON(w, http.StatusOK, hostStatus{Maintenance: a.h.MaintenanceMode().String(), Faults: len(a.h.FaultList()),
		ProfileFile: file, Requests: a.req.Len(), Connections: st.Conns, Accepted: st.Accepted,
		Malformed: st.Malformed, RequestsSeen: in})
	return nil
}

func (a *HostAdmin) serveMaintenance(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		var req struct {
			Mode string `json:"mode"`
		}
		if err := decodeStrict(r, &req); err != nil {
			return err
		}
		mode := req.Mode
		if mode == "on" {
			mode = "respond91"
		}
		m, err := acquirer.ParseMaintenance(mode)
		if err != nil || req.Mode == "" {
			return bad("maintenance mode %q: want on (answer 91), off or refuse (close connections)", req.Mode)
		}
		a.mu.Lock()
		a.h.SetMaintenance(m)
		a.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, map[string]string{"mode": a.h.MaintenanceMode().String()})
	return nil
}

func (a *HostAdmin) serveReload(w http.ResponseWriter, r *http.Request) error {
	a.mu.Lock()
	err := a.h.ReloadProfile(r.Context(), a.cfg.ProfilePath)
	a.mu.Unlock()
	if err != nil {
		return bad("%v", err)
	}
	p := a.h.Profile()
	writeJSON(w, http.StatusOK, map[string]any{"reloaded": a.cfg.ProfilePath, "cards": len(p.Cards),
		"merchants": len(p.Merchants), "terminals": len(p.Terminals)})
	return nil
}

func (a *HostAdmin) serveRequests(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "tid", "stan", "mti", "since", "token":
		default:
			return bad("unknown parameter %q; valid: tid, stan, mti, since", k)
		}
	}
	f := acquirer.RequestFilter{TID: q.Get("tid"), STAN: q.Get("stan"), MTI: q.Get("mti")}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return bad("since %q: want an RFC 3339 time such as 2026-11-30T09:00:00Z", s)
		}
		f.Since = t
	}
	if f.STAN != "" {
		n, err := strconv.Atoi(f.STAN)
		if err != nil || n < 0 || n > 999999 {
			return bad("stan %q: want up to six digits", f.STAN)
		}
		f.STAN = fmt.Sprintf("%06d", n)
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": a.req.Query(f)})
	return nil
}
