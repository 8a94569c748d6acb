package load

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// Echo answers every request with its response MTI and 39=00, copying the
// fields a terminal matches on, in the dialect it was started with: the
// answer goes back in the request's envelope, TPDU addresses swapped, as
// a host answers. No rules, no ledger.
type Echo struct {
	ln      net.Listener
	dialect *iso.Dialect
	logger  *slog.Logger
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
}

// StartEcho listens on addr and serves dialect d (nil: possim87) until
// Close.
func StartEcho(addr string, d *iso.Dialect, logger *slog.Logger) (*Echo, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if d == nil {
		d = iso.Possim87()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("echo host: %w", err)
	}
	e := &Echo{ln: ln, dialect: d, logger: logger, conns: map[net.Conn]struct{}{}}
	e.wg.Add(1)
	go e.serve()
	return e, nil
}

// Addr is the listening address.
func (e *Echo) Addr() string { return e.ln.Addr().String() }

func (e *Echo) serve() {
	defer e.wg.Done()
	for {
		nc, err := e.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				e.logger.Warn("echo accept", "err", err)
			}
			return
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			nc.Close()
			return
		}
		e.conns[nc] = struct{}{}
		e.wg.Add(1)
		e.mu.Unlock()
		go e.answer(nc)
	}
}

// answer reads requests off one connection and answers each in turn. A
// frame whose envelope or message does not fit is logged and skipped (the
// length header kept the stream in step); a stream out of step is closed.
func (e *Echo) answer(nc net.Conn) {
	defer e.wg.Done()
	defer func() {
		e.mu.Lock()
		delete(e.conns, nc)
		e.mu.Unlock()
		nc.Close()
	}()
	d := e.dialect
	r := bufio.NewReader(nc)
	var out []byte
	for {
		env, body, off, err := d.ReadFrame(r)
		if err != nil {
			var fe *iso.FrameError
			if body != nil && errors.As(err, &fe) {
				e.logger.Warn("echo: frame skipped", "remote", nc.RemoteAddr().String(), "err", err)
				continue
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				e.logger.Warn("echo: connection closed", "remote", nc.RemoteAddr().String(), "err", err)
			}
			return
		}
		m, err := d.Unpack(body, off)
		if err != nil {
			e.logger.Warn("echo: message skipped", "remote", nc.RemoteAddr().String(), "err", err)
			continue
		}
		packed, err := echoReply(d, m).Pack()
		if err != nil {
			e.logger.Warn("echo: answer not packed", "err", err)
			continue
		}
		out, err = d.AppendFrame(out[:0], d.Fit(env).Reply(), packed)
		if err != nil {
			e.logger.Warn("echo: answer not framed", "err", err)
			continue
		}
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

var echoFields = []int{2, 3, 4, 7, 11, 12, 13, 41, 42, 49, 70}

// echoReply is the answer to m in dialect d.
func echoReply(d *iso.Dialect, m *iso8583.Message) *iso8583.Message {
	mti, _ := m.GetMTI()
	r := d.NewMessage()
	r.MTI(iso.ResponseMTI(mti))
	for _, id := range echoFields {
		if v, err := m.GetString(id); err == nil && v != "" {
			_ = r.Field(id, v)
		}
	}
	_ = r.Field(39, iso.RCApproved)
	return r
}

// Close stops accepting, closes every connection and waits for them.
func (e *Echo) Close() error {
	e.mu.Lock()
	e.closed = true
	conns := e.conns
	e.conns = map[net.Conn]struct{}{}
	e.mu.Unlock()
	err := e.ln.Close()
	for c := range conns {
		c.Close()
	}
	e.wg.Wait()
	return err
}
