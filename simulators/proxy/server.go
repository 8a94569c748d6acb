package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/gorilla/mux"
	"github.com/possim/possim/simulators/iso"
	"github.com/rs/zerolog"
)

// Config is what a Server gets. Every field may be left zero.
type Config struct {
	// Logger gets Toxiproxy's warnings and errors; nil discards them.
	Logger *slog.Logger
	// Trace, when set, receives one JSON line per message each proxy
	// carries (Event), card data masked.
	Trace io.Writer
	// Dialect is the wire the proxies carry: the ISO toxics and the trace
	// frame and unpack messages in it. nil: possim87.
	Dialect *iso.Dialect
	// Now stamps the trace; nil is time.Now.
	Now func() time.Time
}

// Server is Toxiproxy's API server and proxies, run in this process, with
// possim's ISO toxics registered beside Toxiproxy's own.
type Server struct {
	cfg   Config
	api   *toxiproxy.ApiServer
	trace *traceSink // nil without a trace

	mu   sync.Mutex // guards srv, ln, refs and the trace toxics being added
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	refs []int64 // this server's entries in sinks
	wire int64   // this server's entry in wires; 0: possim87
}

// New makes a server; Start serves its API.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	zl := zerolog.New(io.Discard).Level(zerolog.Disabled)
	if cfg.Logger != nil {
		zl = zerolog.New(slogWriter{cfg.Logger}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	}
	s := &Server{cfg: cfg, api: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zl)}
	if cfg.Trace != nil {
		s.trace = &traceSink{w: cfg.Trace, now: cfg.Now}
	}
	if cfg.Dialect != nil {
		s.wire = wireSeq.Add(1)
		wires.Store(s.wire, cfg.Dialect)
	}
	return s
}

// Start serves the Toxiproxy API on addr ("127.0.0.1:8474"); it returns
// once the address is bound.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("proxy API on %s: %w", addr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	s.done = make(chan struct{})
	srv, done := s.srv, s.done
	s.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && s.cfg.Logger != nil {
			s.cfg.Logger.Error("proxy API stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return nil
}

// Addr is the API's bound address.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Handler is Toxiproxy's API: the routes and handlers of its own server
// (ApiServer.Listen, which cannot be stopped, builds the same router).
func (s *Server) Handler() http.Handler {
	a := s.api
	r := mux.NewRouter()
	r.Use(stopBrowsers)
	r.Use(func(next http.Handler) http.Handler { return http.TimeoutHandler(next, 25*time.Second, "") })
	traced := func(h http.HandlerFunc) http.HandlerFunc {
		if s.trace == nil {
			return h
		}
		return func(w http.ResponseWriter, r *http.Request) {
			h(w, r)
			s.traceAll()
		}
	}
	r.HandleFunc("/reset", traced(a.ResetState)).Methods("POST")
	r.HandleFunc("/proxies", a.ProxyIndex).Methods("GET")
	r.HandleFunc("/proxies", traced(a.ProxyCreate)).Methods("POST")
	r.HandleFunc("/populate", traced(a.Populate)).Methods("POST")
	r.HandleFunc("/proxies/{proxy}", a.ProxyShow).Methods("GET")
	r.HandleFunc("/proxies/{proxy}", traced(a.ProxyUpdate)).Methods("POST")
	r.HandleFunc("/proxies/{proxy}", a.ProxyDelete).Methods("DELETE")
	r.HandleFunc("/proxies/{proxy}/toxics", a.ToxicIndex).Methods("GET")
	r.HandleFunc("/proxies/{proxy}/toxics", s.withWire(a.ToxicCreate)).Methods("POST")
	r.HandleFunc("/proxies/{proxy}/toxics/{toxic}", a.ToxicShow).Methods("GET")
	r.HandleFunc("/proxies/{proxy}/toxics/{toxic}", a.ToxicUpdate).Methods("POST")
	r.HandleFunc("/proxies/{proxy}/toxics/{toxic}", a.ToxicDelete).Methods("DELETE")
	r.HandleFunc("/version", a.Version).Methods("GET")
	return r
}

// withWire sets the server's wire on an ISO toxic being created that does
// not name one, so the toxic reads the stream in the server's dialect.
// A body that is not a JSON object goes on as it came, for Toxiproxy to
// refuse in its own words.
func (s *Server) withWire(next http.HandlerFunc) http.HandlerFunc {
	if s.wire == 0 {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		var req map[string]json.RawMessage
		if json.Unmarshal(body, &req) == nil {
			var typ string
			_ = json.Unmarshal(req["type"], &typ)
			attrs := map[string]json.RawMessage{}
			if a, ok := req["attributes"]; ok {
				_ = json.Unmarshal(a, &attrs)
			}
			if _, named := attrs["wire"]; isISOType(typ) && !named {
				attrs["wire"] = json.RawMessage(strconv.FormatInt(s.wire, 10))
				if a, err := json.Marshal(attrs); err == nil {
					req["attributes"] = a
					if b, err := json.Marshal(req); err == nil {
						body = b
					}
				}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next(w, r)
	}
}

// isISOType says whether a toxic type is one of possim's ISO toxics.
func isISOType(typ string) bool {
	switch typ {
	case TypeDrop, TypeDelay, TypeAmount, TypeDuplicate, TypeGarble, TypeHoldReversal, TypeTrace:
		return true
	}
	return false
}

// stopBrowsers refuses browsers, as Toxiproxy does: a web page must not be
// able to drive the API with the visitor's network position.
func stopBrowsers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.UserAgent(), "Mozilla/") {
			http.Error(w, "User agent not allowed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// AddProxy creates and starts a proxy from listen to upstream in the same
// collection the API shows, and returns the address it listens on.
func (s *Server) AddProxy(name, listen, upstream string) (string, error) {
	p := toxiproxy.NewProxy(s.api, name, listen, upstream)
	if err := s.api.Collection.Add(p, true); err != nil {
		return "", fmt.Errorf("proxy %q from %s to %s: %w", name, listen, upstream, err)
	}
	s.traceAll()
	return p.Listen, nil
}

// traceAll puts the trace toxics on every proxy that lacks them: the
// proxies the API created and those a reset stripped.
func (s *Server) traceAll() {
	if s.trace == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, p := range s.api.Collection.Proxies() {
		for _, d := range []struct{ stream, dir string }{{stream.Upstream.String(), "in"}, {stream.Downstream.String(), "out"}} {
			tname := TypeTrace + "_" + d.stream
			if p.Toxics.GetToxic(tname) != nil {
				continue
			}
			id := sinkSeq.Add(1)
			sinks.Store(id, &sinkRef{trace: s.trace, proxy: name, dir: d.dir})
			s.refs = append(s.refs, id)
			body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":{"sink":%d,"wire":%d}}`, tname, TypeTrace, d.stream, id, s.wire)
			if _, err := p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil && s.cfg.Logger != nil {
				s.cfg.Logger.Warn("trace toxic not added", "proxy", name, "err", err)
			}
		}
	}
}

// Close stops the API, every proxy and their connections, and waits.
func (s *Server) Close() error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	var err error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(ctx)
		cancel()
		<-done
	}
	if cerr := s.api.Collection.Clear(); cerr != nil && err == nil {
		err = cerr
	}
	s.mu.Lock()
	for _, id := range s.refs {
		sinks.Delete(id)
	}
	s.refs = nil
	s.mu.Unlock()
	if s.wire != 0 {
		wires.Delete(s.wire)
	}
	return err
}

// slogWriter hands Toxiproxy's zerolog lines to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("toxiproxy", "event", strings.TrimSpace(string(p)))
	return len(p), nil
}
