package serial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Defaults of FrameConfig.
const (
	DefaultAckTimeout = 500 * time.Millisecond
	DefaultRetries    = 3
	DefaultMaxFrame   = 4096
	// maxQueued frames wait for Recv; beyond that a frame is NAKed so the
	// peer retries later, instead of growing memory without bound.
	maxQueued = 64
)

// ErrNoAck is returned by Send when the peer did not ACK after Retries
// attempts; EOT was sent.
var ErrNoAck = errors.New("no ACK from peer: gave up and sent EOT")

// FrameConfig configures a FrameLink. Zero values take the defaults.
type FrameConfig struct {
	AckTimeout time.Duration // how long Send waits for ACK/NAK per attempt (500ms)
	Retries    int           // attempts before EOT and ErrNoAck (3)
	MaxFrame   int           // largest frame data accepted and sent (4096)
	Logger     *slog.Logger
}

// FrameLink runs one reader goroutine over the port and separates ACK/NAK/EOT
// from data frames, so Send and Recv may be used from different goroutines
// at once. Logs never carry frame contents (they may hold card data).
type FrameLink struct {
	port io.ReadWriteCloser
	cfg  FrameConfig
	log  *slog.Logger

	sendSem chan struct{} // one Send in flight
	wSem    chan struct{} // serialises writes (frames from Send, ACK/NAK from the reader)
	ctrl    chan byte     // ACK/NAK seen by the reader, for Send

	mu     sync.Mutex
	queue  [][]byte      // good frames waiting for Recv
	avail  chan struct{} // signalled when queue grows
	done   chan struct{} // closed when the reader ends
	err    error         // why the reader ended
	closeO sync.Once
	cerr   error
}

// NewFrameLink starts the reader goroutine over p. Close stops it.
func NewFrameLink(p io.ReadWriteCloser, cfg FrameConfig) *FrameLink {
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.Retries <= 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = DefaultMaxFrame
	}
	l := &FrameLink{
		port:    p,
		cfg:     cfg,
		log:     cfg.Logger,
		sendSem: make(chan struct{}, 1),
		wSem:    make(chan struct{}, 1),
		ctrl:    make(chan byte, 16),
		avail:   make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	// A flood from the peer (bad frames, noise) must not flood the log.
	l.log = QuietLog(l.log, DefaultLogEvery)
	go l.readLoop()
	return l
}

// write sends b whole; the reader's ACKs never interleave with a frame.
func (l *FrameLink) write(b []byte) error {
	select {
	case l.wSem <- struct{}{}:
	case <-l.done:
		return l.closedErr()
	}
	defer func() { <-l.wSem }()
	_, err := l.port.Write(b)
	return err
}

func (l *FrameLink) closedErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil || IsClosed(l.err) {
		return io.EOF
	}
	return l.err
}

func (l *FrameLink) readLoop() {
	defer close(l.done)
	dec := Decoder{MaxFrame: l.cfg.MaxFrame}
	buf := make([]byte, 512)
	// Noise outside frames is logged once per burst, not once per read.
	noise := NewNoise(NoiseConfig{Report: func(b Burst) {
		l.log.Warn("frame link: skipped garbage", "bytes", b.Count)
	}})
	defer noise.Close()
	garbage := 0
	flushGarbage := func() {
		if garbage > 0 {
			noise.Add("", garbage)
			garbage = 0
		}
	}
	for {
		n, rerr := l.port.Read(buf)
		for _, c := range buf[:n] {
			ev := dec.Feed(c)
			if ev.Kind != EventGarbage && ev.Kind != EventNone {
				flushGarbage()
				noise.Flush()
			}
			switch ev.Kind {
			case EventGarbage:
				garbage++
			case EventControl:
				l.control(ev.Byte)
			case EventFrame:
				l.deliver(ev.Data)
			case EventBadLRC:
				l.log.Warn("frame link: bad LRC, sending NAK", "len", len(ev.Data))
				l.reply(NAK)
			case EventTruncated:
				l.log.Warn("frame link: truncated frame skipped", "len", len(ev.Data))
			case EventOversize:
				l.log.Warn("frame link: oversize frame skipped", "max", l.cfg.MaxFrame)
			}
		}
		flushGarbage()
		if rerr != nil {
			if dec.InFrame() {
				l.log.Warn("frame link: link closed mid-frame")
			}
			if !IsClosed(rerr) {
				l.log.Warn("frame link: read failed", "err", rerr)
			}
			l.mu.Lock()
			l.err = rerr
			l.mu.Unlock()
			return
		}
	}
}

func (l *FrameLink) control(c byte) {
	if c == EOT {
		l.log.Info("frame link: peer sent EOT")
		return
	}
	select {
	case l.ctrl <- c:
	default: // nobody is sending; a stale ACK/NAK is dropped
	}
}

func (l *FrameLink) reply(c byte) {
	if err := l.write([]byte{c}); err != nil && !IsClosed(err) {
		l.log.Warn("frame link: writing reply failed", "err", err)
	}
}

func (l *FrameLink) deliver(data []byte) {
	l.mu.Lock()
	full := len(l.queue) >= maxQueued
	if !full {
		l.queue = append(l.queue, bytes.Clone(data))
	}
	l.mu.Unlock()
	if full {
		l.log.Warn("frame link: receive queue full, sending NAK", "queued", maxQueued)
		l.reply(NAK)
		return
	}
	// ACK only once the frame is queued: an ACKed frame is never lost.
	l.reply(ACK)
	select {
	case l.avail <- struct{}{}:
	default:
	}
}

// Send frames data, writes it and waits for ACK. A NAK or no answer within
// AckTimeout sends it again; after Retries failed attempts it sends EOT and
// returns ErrNoAck. data must not contain STX/ETX (ErrFrameData).
func (l *FrameLink) Send(ctx context.Context, data []byte) error {
	if len(data) > l.cfg.MaxFrame {
		return fmt.Errorf("sending frame: %w: %d bytes, max %d", ErrFrameData, len(data), l.cfg.MaxFrame)
	}
	if i := bytes.IndexAny(data, "\x02\x03"); i >= 0 {
		return fmt.Errorf("sending frame: %w: STX/ETX at offset %d", ErrFrameData, i)
	}
	select {
	case l.sendSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.sendSem }()

	frame := EncodeFrame(data)
	for attempt := 1; attempt <= l.cfg.Retries; attempt++ {
		l.drainCtrl()
		if err := l.write(frame); err != nil {
			if IsClosed(err) {
				return io.EOF
			}
			return fmt.Errorf("sending frame: %w", err)
		}
		acked, err := l.waitAck(ctx)
		if err != nil {
			return err
		}
		if acked {
			return nil
		}
		l.log.Debug("frame link: retransmitting", "attempt", attempt, "of", l.cfg.Retries)
	}
	l.log.Warn("frame link: no ACK, sending EOT", "attempts", l.cfg.Retries)
	if err := l.write([]byte{EOT}); err != nil && !IsClosed(err) {
		return fmt.Errorf("sending EOT: %w (%w)", err, ErrNoAck)
	}
	return ErrNoAck
}

// drainCtrl drops ACK/NAKs that arrived while no frame was outstanding.
func (l *FrameLink) drainCtrl() {
	for {
		select {
		case <-l.ctrl:
		default:
			return
		}
	}
}

// waitAck reports true on ACK, false on NAK or timeout.
func (l *FrameLink) waitAck(ctx context.Context) (bool, error) {
	t := time.NewTimer(l.cfg.AckTimeout)
	defer t.Stop()
	select {
	case c := <-l.ctrl:
		if c == NAK {
			l.log.Debug("frame link: NAK")
		}
		return c == ACK, nil
	case <-t.C:
		l.log.Debug("frame link: ACK timeout", "after", l.cfg.AckTimeout)
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	case <-l.done:
		// The reader may have queued the ACK just before it ended.
		select {
		case c := <-l.ctrl:
			if c == ACK {
				return true, nil
			}
		default:
		}
		return false, l.closedErr()
	}
}

// Recv returns the next good frame's data (already ACKed). Bad frames are
// NAKed or skipped by the reader and never returned. After the port closes
// and queued frames are drained it returns io.EOF (or the read error).
func (l *FrameLink) Recv(ctx context.Context) ([]byte, error) {
	for {
		l.mu.Lock()
		if len(l.queue) > 0 {
			data := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.mu.Unlock()
			return data, nil
		}
		l.mu.Unlock()
		select {
		case <-l.avail:
		case <-l.done:
			l.mu.Lock()
			empty := len(l.queue) == 0
			l.mu.Unlock()
			if empty {
				return nil, l.closedErr()
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Done is closed when the reader goroutine has ended (port closed or failed).
func (l *FrameLink) Done() <-chan struct{} { return l.done }

// Close closes the port and waits for the reader goroutine.
func (l *FrameLink) Close() error {
	l.closeO.Do(func() {
		l.cerr = l.port.Close()
		<-l.done
	})
	return l.cerr
}
