package load

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/simulators/iso"
)

// Echo answers every request with its response MTI and 39=00, copying the
// fields a terminal matches on. No rules, no ledger.
type Echo struct {
	ln     net.Listener
	logger *slog.Logger
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[*connection.Connection]struct{}
	closed bool
}

// StartEcho listens on addr and serves until Close.
func StartEcho(addr string, logger *slog.Logger) (*Echo, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("echo host: %w", err)
	}
	e := &Echo{ln: ln, logger: logger, conns: map[*connection.Connection]struct{}{}}
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
		c, err := connection.NewFrom(nc, iso.Spec87, iso.ReadLength, iso.WriteLength,
			connection.InboundMessageHandler(echoReply),
			connection.ErrorHandler(func(error) {}))
		if err != nil {
			nc.Close()
			continue
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			c.Close()
			return
		}
		e.conns[c] = struct{}{}
		e.mu.Unlock()
	}
}

var echoFields = []int{2, 3, 4, 7, 11, 12, 13, 41, 42, 49, 70}

func echoReply(c *connection.Connection, m *iso8583.Message) {
	mti, err := m.GetMTI()
	if err != nil {
		return
	}
	r := iso8583.NewMessage(iso.Spec87)
	r.MTI(iso.ResponseMTI(mti))
	for _, id := range echoFields {
		if v, err := m.GetString(id); err == nil && v != "" {
			_ = r.Field(id, v)
		}
	}
	_ = r.Field(39, iso.RCApproved)
	_ = c.Reply(r)
}

// Close stops accepting and closes every connection.
func (e *Echo) Close() error {
	e.mu.Lock()
	e.closed = true
	conns := e.conns
	e.conns = nil
	e.mu.Unlock()
	err := e.ln.Close()
	for c := range conns {
		c.Close()
	}
	e.wg.Wait()
	return err
}
