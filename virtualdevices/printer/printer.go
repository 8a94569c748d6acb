package printer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/possim/possim/virtualdevices/serial"
)

// Event kinds, for Event.Kind.
const (
	EventLink     = "link"     // a link was connected or ended
	EventCommand  = "command"  // a command was received and carried out (text and LF are not reported)
	EventUnknown  = "unknown"  // an unknown command was skipped
	EventRejected = "rejected" // a known command was refused (oversize image, bad barcode)
	EventStatus   = "status"   // a status request was answered
	EventRefused  = "refused"  // a command was dropped because the printer is not ready
	EventReceipt  = "receipt"  // a receipt was cut
	EventState    = "state"    // the operator changed the printer's state
	EventError    = "error"    // the device failed to do something (write a receipt file)
)

// Event is something the printer saw or did, for recorders and dashboards.
type Event struct {
	Device string
	Kind   string
	Detail string
}

// Config configures a Printer.
type Config struct {
	// Name identifies the device in events and logs; "printer" if empty.
	Name string
	// ReceiptDir, if set, is the device directory: every receipt is also
	// written to ReceiptDir/receipts/NNNN.txt and NNNN.html (0001, 0002, ...),
	// overwriting files of an earlier run.
	ReceiptDir string
	// Chinese makes the printer start in Chinese mode (as Chinese models do,
	// and after every ESC @): bytes 0x80 and up are GB18030. Otherwise they
	// are code page 437 until FS & selects Chinese mode.
	Chinese bool
	// Logger receives the device log; nil discards it.
	Logger *slog.Logger
	// Now stamps receipts; nil means time.Now.
	Now func() time.Time
	// OnEvent, if set, is called for every Event, never with a lock held.
	OnEvent func(Event)
}

// Memory bounds of the printer. An uncut page holds at most MaxPageItems
// lines, barcodes and images and MaxPageBytes of image and QR data; past
// that the printer cuts it itself, as if the POS had (a POS that never
// cuts, or sends garbage, still costs bounded memory). The printer keeps
// the newest receipts in memory, at most MaxReceipts of them and
// MaxReceiptBytes of text and HTML (always the last one); every one is
// still numbered and written to ReceiptDir.
const (
	MaxPageItems    = 2000
	MaxPageBytes    = 4 << 20
	MaxReceipts     = 500
	MaxReceiptBytes = 16 << 20
)

// Receipt is one cut piece of paper.
type Receipt struct {
	Seq  int
	Text string // Columns wide, one line per printed line
	HTML string // an HTML fragment with inline styles
	Time time.Time
}

type paperLevel int

const (
	paperOK paperLevel = iota
	paperNearEnd
	paperOut
)

// Printer is a virtual ESC/POS receipt printer. Its POS face is any byte
// link given to Serve or Attach, or a TCP port from ListenTCP; its operator
// face is the methods that load paper, open the cover and so on.
type Printer struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // ends the goroutines the printer owns
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// noise coalesces unknown and refused commands: the first of a burst
	// is reported as it comes, the rest as one count when the burst ends.
	noise *serial.Noise

	mu        sync.Mutex
	eng       *engine
	paper     paperLevel
	coverOpen bool
	broken    bool
	receipts  []Receipt // the newest MaxReceipts
	cuts      int       // receipts cut so far: the last one's Seq
	kept      int       // bytes of Text and HTML in receipts
	listeners []net.Listener
	closed    bool
}

// New returns a ready printer: paper loaded, cover closed.
func New(cfg Config) *Printer {
	if cfg.Name == "" {
		cfg.Name = "printer"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Printer{
		cfg:    cfg,
		log:    serial.QuietLog(log, serial.DefaultLogEvery).With("device", cfg.Name),
		ctx:    ctx,
		cancel: cancel,
		eng:    newEngine(cfg.Chinese),
	}
	p.noise = serial.NewNoise(serial.NoiseConfig{Report: func(b serial.Burst) {
		if b.Count > 1 {
			p.emit(Event{Kind: EventUnknown, Detail: fmt.Sprintf("%d more unknown or refused commands skipped (last: %s)", b.Count-1, b.Last)})
		}
	}})
	return p
}

// Serve reads ESC/POS from link and answers on it until the link ends or ctx
// is done, and closes the link when it returns. It returns nil when the link
// ended (EOF or closed) or ctx is done, and the read or write error
// otherwise. Several links may be served at once; they share the printer.
func (p *Printer) Serve(ctx context.Context, link io.ReadWriteCloser) error {
	// Closing the link unblocks the read when ctx ends; Serve waits for
	// that close to finish, so nothing it started outlives it.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { defer close(closed); _ = link.Close() })
	defer func() {
		if !stop() {
			<-closed
		}
	}()
	defer link.Close()
	p.emit(Event{Kind: EventLink, Detail: "connected"})
	defer p.emit(Event{Kind: EventLink, Detail: "ended"})
	// A pty reports the end of each client's session, so that a POS that
	// reopens the port starts on a clean parser, as a new TCP connection
	// does; without this a command cut short by the last client would eat
	// the next client's bytes.
	if h, ok := link.(interface{ ReportHangups() }); ok {
		h.ReportHangups()
	}
	ps := p.newSession(link, link)
	for {
		cmd, err := ps.next()
		if errors.Is(err, serial.ErrHangup) {
			p.emit(Event{Kind: EventLink, Detail: "POS closed the port; new session"})
			ps = p.newSession(link, link)
			continue
		}
		if err != nil {
			if ctx.Err() != nil || linkEnded(err) {
				return nil
			}
			return fmt.Errorf("%s: reading link: %w", p.cfg.Name, err)
		}
		if cmd.op == opStatus && isRealtimeStatus(cmd.n) {
			if err := ps.reached(cmd.n); err != nil {
				if ctx.Err() != nil || linkEnded(err) {
					return nil
				}
				return fmt.Errorf("%s: %w", p.cfg.Name, err)
			}
			continue
		}
		if reply := p.handle(cmd); len(reply) > 0 {
			if _, err := link.Write(reply); err != nil {
				if ctx.Err() != nil || linkEnded(err) {
					return nil
				}
				return fmt.Errorf("%s: answering %s: %w", p.cfg.Name, cmd.name, err)
			}
		}
	}
}

func linkEnded(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}

// Attach serves link in a goroutine the printer owns; Close stops it and
// closes the link.
func (p *Printer) Attach(link io.ReadWriteCloser) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = link.Close()
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := p.Serve(p.ctx, link); err != nil {
			p.log.Warn("link failed", "err", err)
		}
	}()
}

// ListenTCP serves raw ESC/POS on a TCP address, like port 9100 of a
// network printer. It binds before returning.
func (p *Printer) ListenTCP(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listening: %w", p.cfg.Name, err)
	}
	if err := p.Listen(ln); err != nil {
		return nil, err
	}
	return ln.Addr(), nil
}

// Listen serves the connections of ln one at a time, as a network printer
// does: the next client is accepted only when the current one disconnects.
// The printer owns ln and closes it on Close.
func (p *Printer) Listen(ln net.Listener) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = ln.Close()
		return fmt.Errorf("%s: listening on closed printer", p.cfg.Name)
	}
	p.listeners = append(p.listeners, ln)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				if p.ctx.Err() == nil {
					p.log.Warn("accept failed", "err", err)
				}
				return
			}
			p.log.Info("client connected", "remote", conn.RemoteAddr().String())
			if err := p.Serve(p.ctx, conn); err != nil {
				p.log.Warn("client failed", "err", err)
			}
			_ = conn.Close()
		}
	}()
	return nil
}

// Close stops every link and listener the printer owns and waits for its
// goroutines. Links passed to Serve by the caller end with their ctx.
func (p *Printer) Close() error {
	p.mu.Lock()
	p.closed = true
	lns := p.listeners
	p.listeners = nil
	p.mu.Unlock()
	p.cancel()
	for _, ln := range lns {
		_ = ln.Close()
	}
	p.wg.Wait()
	p.noise.Close()
	return nil
}

// handle carries out one command and returns the bytes to answer, if any.
func (p *Printer) handle(c command) []byte {
	var (
		reply   []byte
		events  []Event
		receipt *Receipt
	)
	p.mu.Lock()
	switch c.op {
	case opStatus:
		// DLE EOT 1..4 is answered by the session (realtime), never here.
		if !isRealtimeStatus(c.n) {
			events = append(events, Event{Kind: EventUnknown, Detail: fmt.Sprintf("DLE EOT %d: no such status", c.n)})
		}
	case opRealtime:
		events = append(events, Event{Kind: EventCommand, Detail: c.String()})
	case opUnknown:
		events = append(events, Event{Kind: EventUnknown, Detail: c.String()})
	case opRejected:
		events = append(events, Event{Kind: EventRejected, Detail: c.String()})
	default:
		if why := p.notReadyLocked(); why != "" {
			events = append(events, Event{Kind: EventRefused, Detail: c.String() + ": " + why})
			break
		}
		if c.op == opPaperSensor {
			if c.n == 1 || c.n == '1' {
				reply = []byte{p.paperSensorLocked()}
			} else {
				reply = []byte{0x00}
			}
		}
		if c.op != opText && c.op != opLF {
			events = append(events, Event{Kind: EventCommand, Detail: c.String()})
		}
		cut := p.eng.apply(c)
		forced := !cut && p.eng.full()
		if cut || forced {
			page := p.eng.takePage()
			if blank(page) {
				events = append(events, Event{Kind: EventCommand, Detail: "cut of a blank page, nothing kept"})
				break
			}
			p.cuts++
			r := Receipt{Seq: p.cuts, Text: renderText(page), HTML: renderHTML(page), Time: p.cfg.Now()}
			p.keepLocked(r)
			receipt = &r
			detail := fmt.Sprintf("receipt %04d cut (%d lines)", r.Seq, len(page))
			if forced {
				detail = fmt.Sprintf("receipt %04d cut by the printer: page limit reached (%d lines)", r.Seq, len(page))
			}
			events = append(events, Event{Kind: EventReceipt, Detail: detail})
		}
	}
	p.mu.Unlock()

	if receipt != nil {
		if err := p.save(*receipt); err != nil {
			events = append(events, Event{Kind: EventError, Detail: err.Error()})
		}
	}
	for _, e := range events {
		if (e.Kind == EventUnknown || e.Kind == EventRejected) && p.noise.Add(e.Detail, 1) > 1 {
			continue // counted in the burst
		}
		p.emit(e)
	}
	return reply
}

// keepLocked adds r to the receipts kept, dropping the oldest past the
// bounds.
func (p *Printer) keepLocked(r Receipt) {
	p.receipts = append(p.receipts, r)
	p.kept += len(r.Text) + len(r.HTML)
	drop := 0
	for len(p.receipts)-drop > 1 && (len(p.receipts)-drop > MaxReceipts || p.kept > MaxReceiptBytes) {
		p.kept -= len(p.receipts[drop].Text) + len(p.receipts[drop].HTML)
		drop++
	}
	if drop > 0 {
		p.receipts = append(p.receipts[:0:0], p.receipts[drop:]...)
	}
}

func (p *Printer) save(r Receipt) error {
	if p.cfg.ReceiptDir == "" {
		return nil
	}
	dir := filepath.Join(p.cfg.ReceiptDir, "receipts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving receipt %04d: %w", r.Seq, err)
	}
	base := filepath.Join(dir, fmt.Sprintf("%04d", r.Seq))
	if err := os.WriteFile(base+".txt", []byte(r.Text), 0o644); err != nil {
		return fmt.Errorf("saving receipt %04d: %w", r.Seq, err)
	}
	doc := fmt.Sprintf("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Receipt %04d</title></head><body>\n%s</body></html>\n", r.Seq, r.HTML)
	if err := os.WriteFile(base+".html", []byte(doc), 0o644); err != nil {
		return fmt.Errorf("saving receipt %04d: %w", r.Seq, err)
	}
	return nil
}

func (p *Printer) emit(e Event) {
	e.Device = p.cfg.Name
	switch e.Kind {
	case EventUnknown, EventRejected, EventRefused, EventError:
		// A fixed message per kind, so the log's rate limit sees repeats.
		p.log.Warn("printer "+e.Kind, "kind", e.Kind, "detail", e.Detail)
	case EventReceipt, EventState, EventLink:
		p.log.Info(e.Detail, "kind", e.Kind)
	default:
		p.log.Debug(e.Detail, "kind", e.Kind)
	}
	if p.cfg.OnEvent != nil {
		p.cfg.OnEvent(e)
	}
}

// Status bits of DLE EOT answers (Epson TM series). Every answer has bits 1
// and 4 set and bits 0 and 7 clear, which is how a driver tells status bytes
// from other data.
const (
	statusFixed        = 0x12
	statusOffline      = 0x08 // n=1
	statusCoverOpen    = 0x04 // n=2
	statusFeedButton   = 0x08 // n=2, never set here
	statusPaperStop    = 0x20 // n=2: printing stopped by paper end
	statusError        = 0x40 // n=2: an error occurred
	statusUnrecovered  = 0x20 // n=3: unrecoverable error
	statusPaperNearEnd = 0x0C // n=4: near-end sensor, bits 2 and 3
	statusPaperEnd     = 0x60 // n=4: paper end sensor, bits 5 and 6
)

func (p *Printer) statusByteLocked(n int) (byte, bool) {
	b := byte(statusFixed)
	switch n {
	case 1:
		if p.notReadyLocked() != "" {
			b |= statusOffline
		}
	case 2:
		if p.coverOpen {
			b |= statusCoverOpen
		}
		if p.paper == paperOut {
			b |= statusPaperStop
		}
		if p.broken {
			b |= statusError
		}
	case 3:
		if p.broken {
			b |= statusUnrecovered
		}
	case 4:
		if p.paper != paperOK {
			b |= statusPaperNearEnd
		}
		if p.paper == paperOut {
			b |= statusPaperEnd
		}
	default:
		return 0, false
	}
	return b, true
}

// paperSensorLocked is the GS r 1 answer: near end in bits 0-1, end in 2-3.
func (p *Printer) paperSensorLocked() byte {
	var b byte
	if p.paper != paperOK {
		b |= 0x03
	}
	if p.paper == paperOut {
		b |= 0x0C
	}
	return b
}

func (p *Printer) notReadyLocked() string {
	switch {
	case p.broken:
		return "printer offline (error)"
	case p.coverOpen:
		return "cover open"
	case p.paper == paperOut:
		return "paper out"
	}
	return ""
}

// Status is the printer's state as a driver would read it over the link.
func (p *Printer) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	var raw [4]byte
	for i := range raw {
		raw[i], _ = p.statusByteLocked(i + 1)
	}
	return parseStatus(raw[0], raw[1], raw[3])
}

// setState applies an operator action. Losing readiness throws away the
// uncut page: it will never reach a customer whole.
func (p *Printer) setState(detail string, f func()) {
	p.mu.Lock()
	wasReady := p.notReadyLocked() == ""
	f()
	lost := 0
	if wasReady && p.notReadyLocked() != "" {
		lost = len(p.eng.page) + len(p.eng.line)
		p.eng.discard()
	}
	p.mu.Unlock()
	if lost > 0 {
		detail += " (uncut page discarded)"
	}
	p.emit(Event{Kind: EventState, Detail: detail})
}

// PaperOut makes the paper run out: the printer goes offline.
func (p *Printer) PaperOut() { p.setState("paper out", func() { p.paper = paperOut }) }

// PaperNearEnd sets the near-end sensor; the printer still prints.
func (p *Printer) PaperNearEnd() { p.setState("paper near end", func() { p.paper = paperNearEnd }) }

// LoadPaper puts a new roll in.
func (p *Printer) LoadPaper() { p.setState("paper loaded", func() { p.paper = paperOK }) }

// OpenCover opens the cover: the printer goes offline.
func (p *Printer) OpenCover() { p.setState("cover open", func() { p.coverOpen = true }) }

// CloseCover closes the cover.
func (p *Printer) CloseCover() { p.setState("cover closed", func() { p.coverOpen = false }) }

// Break puts the printer in an unrecoverable error: offline, still answering
// status.
func (p *Printer) Break() { p.setState("broken", func() { p.broken = true }) }

// Fix clears the error set by Break.
func (p *Printer) Fix() { p.setState("fixed", func() { p.broken = false }) }

// Receipts returns the receipts kept (the newest MaxReceipts), oldest first.
func (p *Printer) Receipts() []Receipt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Receipt(nil), p.receipts...)
}

// LastReceipt returns the latest receipt, and false if none was cut yet.
func (p *Printer) LastReceipt() (Receipt, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.receipts) == 0 {
		return Receipt{}, false
	}
	return p.receipts[len(p.receipts)-1], true
}
