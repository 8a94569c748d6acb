package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// apiServer is the HTTP server under each API of possim (the control API,
// the host admin API): bound on start, refused on a non-loopback address
// without a token, and stopped by shutdown, which waits for Serve.
type apiServer struct {
	srv  *http.Server
	ln   net.Listener
	serr chan error
}

// start binds addr and serves h until shutdown. The error of a refused
// address wraps ErrNotLoopback; that of a failed bind is net.Listen's.
func (s *apiServer) start(addr, token string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); token == "" && (!ok || !tcp.IP.IsLoopback()) {
		ln.Close()
		return fmt.Errorf("%w: %s (bind 127.0.0.1 or give a token)", ErrNotLoopback, addr)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	s.serr = make(chan error, 1)
	go func() { s.serr <- s.srv.Serve(ln) }()
	return nil
}

// addr is the address start bound, or "" before start.
func (s *apiServer) addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// shutdown stops the server, if started, and waits for Serve to return.
func (s *apiServer) shutdown() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := s.srv.Shutdown(ctx)
	cancel()
	if serr := <-s.serr; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// secureHeaders are the headers of every answer of an API: no sniffing,
// and no page may frame it (a framed dashboard could be clicked through by
// the page around it).
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", frameNone)
}
