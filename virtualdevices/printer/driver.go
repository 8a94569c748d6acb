package printer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ErrNoResponse means the printer did not answer a status request in time:
// it is off, unplugged, or not an ESC/POS printer.
var ErrNoResponse = errors.New("printer not answering")

// ErrNotReady is matched (errors.Is) by every NotReadyError.
var ErrNotReady = errors.New("printer not ready")

// NotReadyError is returned by Print when the printer refuses to print; the
// Status says why.
type NotReadyError struct {
	Status Status
	// During is true when the printer became not ready while the receipt
	// was being sent: it may be lost and should be printed again.
	During bool
}

func (e *NotReadyError) Error() string {
	if e.During {
		return "printer not ready after printing: " + e.Status.Reason()
	}
	return "printer not ready: " + e.Status.Reason()
}

// Is makes errors.Is(err, ErrNotReady) true.
func (e *NotReadyError) Is(target error) bool { return target == ErrNotReady }

// Status is the state of an ESC/POS printer read with DLE EOT 1, 2 and 4.
type Status struct {
	Online       bool
	CoverOpen    bool
	PaperNearEnd bool
	PaperOut     bool
	Error        bool    // an error stopped the printer
	Raw          [3]byte // the answers to DLE EOT 1, 2 and 4
}

// Ready reports whether the printer will print.
func (s Status) Ready() bool { return s.Reason() == "" }

// Reason says why the printer will not print, or "" if it will.
func (s Status) Reason() string {
	switch {
	case s.Error:
		return "printer error"
	case s.CoverOpen:
		return "cover open"
	case s.PaperOut:
		return "paper out"
	case !s.Online:
		return "offline"
	}
	return ""
}

func parseStatus(s1, s2, s4 byte) Status {
	return Status{
		Online:       s1&statusOffline == 0,
		CoverOpen:    s2&statusCoverOpen != 0,
		PaperOut:     s2&statusPaperStop != 0 || s4&statusPaperEnd != 0,
		PaperNearEnd: s4&statusPaperNearEnd != 0,
		Error:        s2&statusError != 0,
		Raw:          [3]byte{s1, s2, s4},
	}
}

// isStatusByte reports whether b has the fixed bits of a DLE EOT answer.
func isStatusByte(b byte) bool { return b&0x93 == 0x12 }

// DefaultStatusTimeout bounds one status exchange when ctx has no deadline.
const DefaultStatusTimeout = time.Second

// Driver is the POS side of an ESC/POS printer on a byte link: a serial
// port, a pty, a TCP connection to port 9100, or an in-memory pipe.
//
// It starts one goroutine that reads the link; the goroutine ends when a
// read fails, so whoever owns the link ends it by closing the link.
type Driver struct {
	rw io.ReadWriter
	// StatusTimeout bounds each status exchange; 0 means
	// DefaultStatusTimeout. Set it before first use.
	StatusTimeout time.Duration

	sem   chan struct{} // one exchange at a time
	wsem  chan struct{} // one write in flight at a time
	start sync.Once

	mu      sync.Mutex
	buf     []byte
	readErr error
	notify  chan struct{} // signalled when buf grows
	done    chan struct{} // closed when the reader ends
}

// NewDriver returns a driver for the printer at the other end of rw.
func NewDriver(rw io.ReadWriter) *Driver {
	return &Driver{
		rw:     rw,
		sem:    make(chan struct{}, 1),
		wsem:   make(chan struct{}, 1),
		notify: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

func (d *Driver) read() {
	defer close(d.done)
	buf := make([]byte, 256)
	for {
		n, err := d.rw.Read(buf)
		d.mu.Lock()
		d.buf = append(d.buf, buf[:n]...)
		if err != nil {
			d.readErr = err
		}
		d.mu.Unlock()
		select {
		case d.notify <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

func (d *Driver) acquire(ctx context.Context) error {
	d.start.Do(func() { go d.read() })
	select {
	case d.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Driver) release() { <-d.sem }

// write writes b, giving up when ctx ends. A write that never completes
// (nobody reading the link) is left to end when the link is closed; until
// then later writes wait for it on a channel, never on the link's own lock.
func (d *Driver) write(ctx context.Context, b []byte) error {
	select {
	case d.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	res := make(chan error, 1)
	go func() {
		_, err := d.rw.Write(b)
		<-d.wsem
		res <- err
	}()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readStatusByte waits for the next byte that looks like a status answer,
// dropping anything else (late answers were drained before asking).
func (d *Driver) readStatusByte(ctx context.Context) (byte, error) {
	for {
		d.mu.Lock()
		for len(d.buf) > 0 {
			b := d.buf[0]
			d.buf = d.buf[1:]
			if isStatusByte(b) {
				d.mu.Unlock()
				return b, nil
			}
		}
		err := d.readErr
		d.mu.Unlock()
		if err != nil {
			return 0, fmt.Errorf("reading link: %w", err)
		}
		select {
		case <-d.notify:
		case <-d.done:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (d *Driver) drain() {
	d.mu.Lock()
	d.buf = d.buf[:0]
	d.mu.Unlock()
}

// Status asks the printer for DLE EOT 1, 2 and 4 and decodes the answers.
// A printer that does not answer gives an error matching ErrNoResponse.
func (d *Driver) Status(ctx context.Context) (Status, error) {
	if err := d.acquire(ctx); err != nil {
		return Status{}, fmt.Errorf("printer status: %w", err)
	}
	defer d.release()
	return d.status(ctx)
}

func (d *Driver) status(ctx context.Context) (Status, error) {
	timeout := d.StatusTimeout
	if timeout <= 0 {
		timeout = DefaultStatusTimeout
	}
	var raw [3]byte
	d.drain()
	for i, n := range []byte{1, 2, 4} {
		b, err := d.ask(ctx, n, timeout)
		if err != nil {
			return Status{}, err
		}
		raw[i] = b
	}
	return parseStatus(raw[0], raw[1], raw[2]), nil
}

func (d *Driver) ask(ctx context.Context, n byte, timeout time.Duration) (byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := d.write(ctx, []byte{dle, eot, n}); err != nil {
		return 0, d.statusErr(ctx, n, err)
	}
	b, err := d.readStatusByte(ctx)
	if err != nil {
		return 0, d.statusErr(ctx, n, err)
	}
	return b, nil
}

func (d *Driver) statusErr(ctx context.Context, n byte, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("printer status (DLE EOT %d): %w: %w", n, ErrNoResponse, err)
	}
	return fmt.Errorf("printer status (DLE EOT %d): %w", n, err)
}

// Print sends an ESC/POS receipt (see Builder) if the printer is ready, and
// asks for the status again afterwards. If the printer is not ready, before
// or after, the error is a *NotReadyError.
func (d *Driver) Print(ctx context.Context, receipt []byte) error {
	if err := d.acquire(ctx); err != nil {
		return fmt.Errorf("printing: %w", err)
	}
	defer d.release()
	st, err := d.status(ctx)
	if err != nil {
		return fmt.Errorf("printing: %w", err)
	}
	if !st.Ready() {
		return &NotReadyError{Status: st}
	}
	const chunk = 4096
	for len(receipt) > 0 {
		n := min(chunk, len(receipt))
		if err := d.write(ctx, receipt[:n]); err != nil {
			return fmt.Errorf("printing: writing receipt: %w", err)
		}
		receipt = receipt[n:]
	}
	// Our device answers in sequence, so this also waits until the receipt
	// was processed; a real printer answers at once and only confirms that
	// it is still ready.
	st, err = d.status(ctx)
	if err != nil {
		return fmt.Errorf("printing: confirming: %w", err)
	}
	if !st.Ready() {
		return &NotReadyError{Status: st, During: true}
	}
	return nil
}
