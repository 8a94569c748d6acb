package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// Toxic is a link fault with Toxiproxy's name and meaning. Stream says
// which way it acts: "downstream" (host to terminal), "upstream"
// (terminal to host) or "" for both.
type Toxic struct {
	Name   string        // latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, down
	Stream string        // upstream, downstream, or both when empty
	Delay  time.Duration // latency, slow_close, timeout, reset_peer (after), slicer (between slices)
	Jitter time.Duration // latency
	Rate   int           // bandwidth, KB/s
	Size   int           // slicer: average slice size in bytes; limit_data: bytes allowed
}

// ToxicNames lists the link faults the lab understands.
var ToxicNames = []string{"latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "down"}

func (t Toxic) validate() error {
	for _, n := range ToxicNames {
		if t.Name == n {
			if t.Stream != "" && t.Stream != "upstream" && t.Stream != "downstream" {
				return fmt.Errorf("toxic %s: stream %q; valid: upstream, downstream, or empty for both", t.Name, t.Stream)
			}
			if t.Name == "bandwidth" && t.Rate <= 0 {
				return errors.New("toxic bandwidth needs a rate in KB/s above 0")
			}
			if t.Name == "limit_data" && t.Size <= 0 {
				return errors.New("toxic limit_data needs a byte limit above 0")
			}
			return nil
		}
	}
	return fmt.Errorf("unknown link fault %q; valid: %s", t.Name, strings.Join(ToxicNames, ", "))
}

func (t Toxic) acts(stream string) bool { return t.Stream == "" || t.Stream == stream }

// Link is the network between terminal and host: a proxy that carries each
// terminal connection to the host through the toxics in force. It works
// over in-memory pipes (virtual mode, correct in synctest's virtual time)
// and over TCP (wired mode) alike. Randomness (jitter, slice sizes) comes
// from the lab's seed, so a run repeats.
type Link struct {
	upstream func(ctx context.Context) (net.Conn, error)
	logger   *slog.Logger
	seed     uint64
	onEvent  func(kind, detail string)

	mu     sync.Mutex
	toxics map[string]Toxic
	conns  map[*proxied]struct{}
	n      uint64
	closed bool
	wg     sync.WaitGroup
}

// LinkConfig configures a Link.
type LinkConfig struct {
	// Upstream opens a connection to the host.
	Upstream func(ctx context.Context) (net.Conn, error)
	Seed     uint64
	Logger   *slog.Logger
	OnEvent  func(kind, detail string)
}

// NewLink makes a link; Dial gives the terminal its end.
func NewLink(cfg LinkConfig) *Link {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(string, string) {}
	}
	return &Link{upstream: cfg.Upstream, logger: cfg.Logger, seed: cfg.Seed, onEvent: cfg.OnEvent,
		toxics: map[string]Toxic{}, conns: map[*proxied]struct{}{}}
}

// ErrLinkDown is what the terminal's dial gets while the link is down.
var ErrLinkDown = errors.New("link down: connection refused")

// Add puts a toxic in force, replacing one of the same name. "down" closes
// every connection at once and refuses new ones until removed.
func (l *Link) Add(t Toxic) error {
	if err := t.validate(); err != nil {
		return err
	}
	l.mu.Lock()
	l.toxics[t.Name] = t
	var victims []*proxied
	if t.Name == "down" {
		for c := range l.conns {
			victims = append(victims, c)
		}
	}
	l.mu.Unlock()
	l.onEvent("link_fault", t.Name)
	for _, c := range victims {
		c.close()
	}
	return nil
}

// Remove lifts a toxic; Clear lifts them all.
func (l *Link) Remove(name string) {
	l.mu.Lock()
	delete(l.toxics, name)
	l.mu.Unlock()
	l.onEvent("link_restored", name)
}

// Clear lifts every toxic.
func (l *Link) Clear() {
	l.mu.Lock()
	l.toxics = map[string]Toxic{}
	l.mu.Unlock()
}

// Toxics lists the toxics in force, by name.
func (l *Link) Toxics() []Toxic {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Toxic, 0, len(l.toxics))
	for _, t := range l.toxics {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (l *Link) toxic(name, stream string) (Toxic, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.toxics[name]
	return t, ok && t.acts(stream)
}

// Dial opens a terminal connection through the link: the terminal gets
// one end of an in-memory pipe, the proxy carries it to the host.
func (l *Link) Dial(ctx context.Context) (net.Conn, error) {
	if _, down := l.toxic("down", ""); down {
		return nil, ErrLinkDown
	}
	up, err := l.upstream(ctx)
	if err != nil {
		return nil, err
	}
	term, mine := net.Pipe()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		up.Close()
		term.Close()
		mine.Close()
		return nil, net.ErrClosed
	}
	l.n++
	p := &proxied{link: l, down: mine, up: up, done: make(chan struct{}),
		rng: rand.New(rand.NewPCG(l.seed, l.n))}
	l.conns[p] = struct{}{}
	l.wg.Add(2)
	l.mu.Unlock()
	go p.pump("upstream", mine, up)
	go p.pump("downstream", up, mine)
	return term, nil
}

// Close closes every connection and waits for the pumps.
func (l *Link) Close() error {
	l.mu.Lock()
	l.closed = true
	var all []*proxied
	for c := range l.conns {
		all = append(all, c)
	}
	l.mu.Unlock()
	for _, c := range all {
		c.close()
	}
	l.wg.Wait()
	return nil
}

// proxied is one terminal connection carried through the link.
type proxied struct {
	link      *Link
	down, up  net.Conn
	once      sync.Once
	done      chan struct{}
	rngMu     sync.Mutex
	rng       *rand.Rand
	sentMu    sync.Mutex
	sentBytes int
}

func (p *proxied) close() {
	p.once.Do(func() {
		close(p.done)
		p.down.Close()
		p.up.Close()
		p.link.mu.Lock()
		delete(p.link.conns, p)
		p.link.mu.Unlock()
	})
}

func (p *proxied) randN(n int64) int64 {
	if n <= 0 {
		return 0
	}
	p.rngMu.Lock()
	defer p.rngMu.Unlock()
	return p.rng.Int64N(n)
}

// sleep waits d or until the connection closes; false when closed.
func (p *proxied) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.done:
		return false
	}
}

// pump copies one direction chunk by chunk through the toxics.
func (p *proxied) pump(stream string, src io.Reader, dst io.Writer) {
	defer p.link.wg.Done()
	l := p.link
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.carry(stream, append([]byte(nil), buf[:n]...), dst) {
				p.close()
				return
			}
		}
		if err != nil {
			if t, ok := l.toxic("slow_close", stream); ok {
				p.sleep(t.Delay)
			}
			p.close()
			return
		}
	}
}

// carry passes one chunk through the toxics; false ends the connection.
func (p *proxied) carry(stream string, chunk []byte, dst io.Writer) bool {
	l := p.link
	if t, ok := l.toxic("timeout", stream); ok {
		// Data stops; the connection closes after Delay (never when 0).
		if t.Delay > 0 {
			p.sleep(t.Delay)
			return false
		}
		return true
	}
	if t, ok := l.toxic("reset_peer", stream); ok {
		p.sleep(t.Delay)
		if tc, ok := p.up.(*net.TCPConn); ok {
			tc.SetLinger(0) // an RST, not a FIN
		}
		return false
	}
	if t, ok := l.toxic("limit_data", stream); ok {
		p.sentMu.Lock()
		allowed := t.Size - p.sentBytes
		if allowed < len(chunk) {
			p.sentMu.Unlock()
			if allowed > 0 {
				dst.Write(chunk[:allowed])
			}
			return false
		}
		p.sentBytes += len(chunk)
		p.sentMu.Unlock()
	}
	if t, ok := l.toxic("latency", stream); ok {
		d := t.Delay
		if t.Jitter > 0 {
			d += time.Duration(p.randN(int64(2*t.Jitter))) - t.Jitter
		}
		if !p.sleep(d) {
			return false
		}
	}
	if t, ok := l.toxic("bandwidth", stream); ok {
		if !p.sleep(time.Duration(len(chunk)) * time.Second / time.Duration(t.Rate*1024)) {
			return false
		}
	}
	if t, ok := l.toxic("slicer", stream); ok {
		size := max(t.Size, 1)
		for len(chunk) > 0 {
			n := min(len(chunk), 1+int(p.randN(int64(2*size))))
			if _, err := dst.Write(chunk[:n]); err != nil {
				return false
			}
			chunk = chunk[n:]
			if len(chunk) > 0 && !p.sleep(t.Delay) {
				return false
			}
		}
		return true
	}
	_, err := dst.Write(chunk)
	return err == nil
}
