package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// The command protocol of the card reader and the PIN pad (docs/devices.md,
// part 2): each command is one frame "NAME args", each answer one frame
// holding a Message that echoes NAME. A device may hold a command (wait for
// a card, a PIN) and keep reading meanwhile, so a CANCEL gets through; the
// server and client below carry that plumbing so a device package keeps
// only its commands and its behaviour.

// CommandHandler handles one command frame on a link. It must not block on
// the device's operator: it answers at once with Responder.Reply, or hands
// a waiting answer to Responder.Go. ctx ends when the link is served no more.
type CommandHandler func(ctx context.Context, rs *Responder, data []byte)

// CommandServerConfig configures a CommandServer.
type CommandServerConfig struct {
	Frame  FrameConfig // Frame.Logger defaults to Logger
	Logger *slog.Logger
	// Cable, if set, sits between every served link and the frame codec,
	// so the device can be unplugged.
	Cable  *Cable
	Handle CommandHandler
}

// CommandServer is the device side: it serves framed commands on any
// number of links, each with its own frame codec, until Close.
type CommandServer struct {
	cfg    CommandServerConfig
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewCommandServer returns a server that serves nothing until Attach or
// Serve. cfg.Handle must be set.
func NewCommandServer(cfg CommandServerConfig) *CommandServer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Frame.Logger == nil {
		cfg.Frame.Logger = cfg.Logger
	}
	s := &CommandServer{cfg: cfg, log: cfg.Logger}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Attach serves port in the background until Close; a link that ends on
// its own is logged.
func (s *CommandServer) Attach(port io.ReadWriteCloser) {
	s.wg.Go(func() {
		if err := s.Serve(s.ctx, port); err != nil {
			s.log.Warn("link ended", "err", err)
		}
	})
}

// Close stops every attached link, closes their ports and waits for all the
// server's goroutines.
func (s *CommandServer) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Serve answers commands on port until ctx ends (it returns nil) or the
// link fails, then waits for the answers in flight and closes the link and
// port. An answer still waiting is abandoned unsent.
func (s *CommandServer) Serve(ctx context.Context, port io.ReadWriteCloser) error {
	if s.cfg.Cable != nil {
		port = s.cfg.Cable.Wrap(port)
	}
	link := NewFrameLink(port, s.cfg.Frame)
	rs := &Responder{link: link, log: s.log, sendSem: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		rs.wg.Wait()
		link.Close()
	}()
	for {
		data, err := link.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("receiving: %w", err)
		}
		s.cfg.Handle(ctx, rs, data)
	}
}

// Responder sends the answers of one link, one frame at a time.
type Responder struct {
	link    *FrameLink
	log     *slog.Logger
	sendSem chan struct{} // a channel, not a mutex, so waiting stays durable in synctest
	wg      sync.WaitGroup
}

// Send sends m now, after any answer being sent. A failure is logged, not
// returned: the POS retries its command if it wants the answer.
func (rs *Responder) Send(ctx context.Context, m Message) {
	select {
	case rs.sendSem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-rs.sendSem }()
	rs.log.Debug("response", "cmd", m.Cmd, "sw", m.Status)
	if err := rs.link.Send(ctx, m.Encode()); err != nil && ctx.Err() == nil {
		rs.log.Warn("sending response", "cmd", m.Cmd, "err", err)
	}
}

// Go runs answer in a goroutine, so the link keeps reading while a command
// waits, and sends what it returns if ok. answer may also Send itself, to
// order its frame before something it signals. Serve waits for it, so it
// must end when ctx does.
func (rs *Responder) Go(ctx context.Context, answer func() (m Message, ok bool)) {
	rs.wg.Go(func() {
		if m, ok := answer(); ok {
			rs.Send(ctx, m)
		}
	})
}

// Reply sends m from a goroutine, as Go does, so a handler never waits for
// the POS to ACK and the link keeps reading.
func (rs *Responder) Reply(ctx context.Context, m Message) {
	rs.Go(ctx, func() (Message, bool) { return m, true })
}

// ReplyAfter sends m once after is closed, or at once if after is nil,
// without blocking the caller; if ctx ends first nothing is sent. A CANCEL
// uses it so that its own answer follows the answer of the command it
// cancelled, as drivers expect.
func (rs *Responder) ReplyAfter(ctx context.Context, after <-chan struct{}, m Message) {
	rs.Go(ctx, func() (Message, bool) {
		if after != nil {
			select {
			case <-after:
			case <-ctx.Done():
				return Message{}, false
			}
		}
		return m, true
	})
}

// ErrNoAnswer is what CommandClient errors wrap when the device cannot be
// reached or does not answer, unless CommandClientConfig.NoAnswer says
// otherwise.
var ErrNoAnswer = errors.New("device not answering")

// CommandClientConfig configures a CommandClient.
type CommandClientConfig struct {
	Frame  FrameConfig // Frame.Logger defaults to Logger
	Logger *slog.Logger
	// Timeout is the wait for an answer when a Command gives none, and for
	// the answer to a CancelWith command. Zero means 3 s.
	Timeout time.Duration
	// NoAnswer is the error wrapped when the device does not answer, so a
	// driver's callers branch on the driver's own sentinel (default
	// ErrNoAnswer).
	NoAnswer error
}

// Command is one command for CommandClient.Exchange.
type Command struct {
	// Line is the frame data, "NAME args"; NAME runs up to the first
	// space or LF and is what the answer must echo.
	Line string
	// Wait bounds the wait for the answer; zero means the client's Timeout.
	Wait time.Duration
	// CancelWith, if set, is sent when ctx ends before the answer, so a
	// device holding the command (waiting for a card, a PIN) drops it
	// instead of acting for nobody; its answer is awaited briefly so the
	// next command starts on a quiet device.
	CancelWith string
}

// CommandClient is the POS side: it sends one command at a time and
// returns the answer that names it. There are no sequence numbers in the
// protocol, so a late answer to a command given up on, or one sent again
// because an ACK was lost, is recognised by its name and skipped. Safe for
// concurrent use.
type CommandClient struct {
	link *FrameLink
	cfg  CommandClientConfig
	log  *slog.Logger
	sem  chan struct{}
}

// NewCommandClient starts the frame codec over port. Close stops it.
func NewCommandClient(port io.ReadWriteCloser, cfg CommandClientConfig) *CommandClient {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Frame.Logger == nil {
		cfg.Frame.Logger = cfg.Logger
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.NoAnswer == nil {
		cfg.NoAnswer = ErrNoAnswer
	}
	return &CommandClient{
		link: NewFrameLink(port, cfg.Frame),
		cfg:  cfg,
		log:  cfg.Logger,
		sem:  make(chan struct{}, 1),
	}
}

// Close closes the link and its port.
func (c *CommandClient) Close() error { return c.link.Close() }

// Exchange sends cmd and returns the answer that echoes its name, skipping
// malformed and stale answers. It returns ctx.Err() if ctx ends first and
// an error wrapping the NoAnswer error if the device cannot be reached or
// does not answer within the wait. The answer's status is the caller's to
// judge.
func (c *CommandClient) Exchange(ctx context.Context, cmd Command) (Message, error) {
	name := cmd.Line
	if i := strings.IndexAny(name, " \n"); i >= 0 {
		name = name[:i]
	}
	wait := cmd.Wait
	if wait <= 0 {
		wait = c.cfg.Timeout
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	c.log.Debug("command", "cmd", FirstWord(name))
	if err := c.link.Send(ctx, []byte(cmd.Line)); err != nil {
		if ctx.Err() != nil {
			return Message{}, ctx.Err()
		}
		return Message{}, fmt.Errorf("%w: sending %s: %v", c.cfg.NoAnswer, FirstWord(name), err)
	}
	m, err := c.await(ctx, name, wait)
	if err != nil && ctx.Err() != nil && cmd.CancelWith != "" {
		c.cancel(name, cmd.CancelWith)
	}
	return m, err
}

func (c *CommandClient) await(parent context.Context, name string, wait time.Duration) (Message, error) {
	ctx, cancel := context.WithTimeout(parent, wait)
	defer cancel()
	for {
		data, err := c.link.Recv(ctx)
		if err != nil {
			switch {
			case parent.Err() != nil:
				return Message{}, parent.Err()
			case ctx.Err() != nil:
				return Message{}, fmt.Errorf("%w: no answer to %s within %v", c.cfg.NoAnswer, FirstWord(name), wait)
			}
			return Message{}, fmt.Errorf("%w: receiving %s: %v", c.cfg.NoAnswer, FirstWord(name), err)
		}
		m, err := ParseMessage(data)
		if err != nil {
			c.log.Warn("skipping bad answer", "err", err)
			continue
		}
		if m.Cmd != name {
			c.log.Debug("skipping stale answer", "cmd", m.Cmd, "sw", m.Status)
			continue
		}
		return m, nil
	}
}

// cancel sends the CancelWith command of a held command the caller gave
// up on, with its own deadline since the caller's ctx has ended.
func (c *CommandClient) cancel(held, line string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	name, _, _ := strings.Cut(line, " ")
	if err := c.link.Send(ctx, []byte(line)); err != nil {
		c.log.Warn("cancelling held command", "cmd", held, "err", err)
		return
	}
	if _, err := c.await(ctx, name, c.cfg.Timeout); err != nil {
		c.log.Warn("cancelling held command", "cmd", held, "err", err)
	}
}
