package scanner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrNoResponse means the scanner did not answer ENQ in time.
var ErrNoResponse = errors.New("scanner not answering")

// ErrGarbled is matched (errors.Is) by every GarbledError.
var ErrGarbled = errors.New("garbled scan")

// GarbledError is a scan that is not printable text: a bad read.
type GarbledError struct {
	Raw []byte // the bytes before the suffix
}

func (e *GarbledError) Error() string { return fmt.Sprintf("garbled scan: %q", e.Raw) }

// Is makes errors.Is(err, ErrGarbled) true.
func (e *GarbledError) Is(target error) bool { return target == ErrGarbled }

// DefaultProbeTimeout bounds Probe when ctx has no earlier deadline.
const DefaultProbeTimeout = time.Second

// maxScan bounds a scan waiting for its suffix; longer data is garbage.
const maxScan = 8192

// Driver is the POS side of a serial scanner on a byte link. It starts one
// goroutine reading the link, which ends when a read fails, so whoever owns
// the link ends it by closing the link.
type Driver struct {
	rw     io.ReadWriter
	suffix []byte
	// ProbeTimeout bounds Probe; 0 means DefaultProbeTimeout. Set it before
	// first use.
	ProbeTimeout time.Duration

	start  sync.Once
	probes chan struct{} // one probe at a time
	wsem   chan struct{} // one write in flight at a time

	mu      sync.Mutex
	data    []byte
	acks    int
	readErr error
	changed chan struct{} // closed and replaced whenever data arrives
}

// NewDriver returns a driver for the scanner at the other end of rw; suffix
// is what ends a code (nil means CR).
func NewDriver(rw io.ReadWriter, suffix []byte) *Driver {
	if len(suffix) == 0 {
		suffix = []byte(DefaultSuffix)
	}
	return &Driver{
		rw:      rw,
		suffix:  suffix,
		probes:  make(chan struct{}, 1),
		wsem:    make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
}

// read splits the stream: ACK bytes answer probes (ACK never occurs in a
// code), everything else is scan data.
func (d *Driver) read() {
	buf := make([]byte, 256)
	for {
		n, err := d.rw.Read(buf)
		d.mu.Lock()
		for _, b := range buf[:n] {
			if b == ACK {
				d.acks++
			} else {
				d.data = append(d.data, b)
			}
		}
		if err != nil {
			d.readErr = err
		}
		close(d.changed) // wakes every waiter: Probe and ReadScan may both wait
		d.changed = make(chan struct{})
		d.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// wait blocks until cond (called with d.mu held) is true, the link fails or
// ctx ends.
func (d *Driver) wait(ctx context.Context, cond func() bool) error {
	d.start.Do(func() { go d.read() })
	for {
		d.mu.Lock()
		ok, err, changed := cond(), d.readErr, d.changed
		d.mu.Unlock()
		if ok {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading link: %w", err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

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

// Probe sends ENQ and waits for ACK. A broken or absent scanner gives an
// error matching ErrNoResponse.
func (d *Driver) Probe(ctx context.Context) error {
	d.start.Do(func() { go d.read() })
	select {
	case d.probes <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("scanner probe: %w", ctx.Err())
	}
	defer func() { <-d.probes }()
	timeout := d.ProbeTimeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d.mu.Lock()
	d.acks = 0 // late answers to an earlier probe
	d.mu.Unlock()
	err := d.write(ctx, []byte{ENQ})
	if err == nil {
		err = d.wait(ctx, func() bool { return d.acks > 0 })
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("scanner probe: %w: %w", ErrNoResponse, err)
		}
		return fmt.Errorf("scanner probe: %w", err)
	}
	d.mu.Lock()
	d.acks--
	d.mu.Unlock()
	return nil
}

// ReadScan waits for the next code and returns it without the suffix. A
// code that is not printable text is a *GarbledError (ErrGarbled); the
// cashier should scan again or key the code in.
func (d *Driver) ReadScan(ctx context.Context) (string, error) {
	var raw []byte
	err := d.wait(ctx, func() bool {
		if i := bytes.Index(d.data, d.suffix); i >= 0 {
			raw = append([]byte(nil), d.data[:i]...)
			d.data = d.data[i+len(d.suffix):]
			return true
		}
		if len(d.data) > maxScan {
			raw = append([]byte(nil), d.data...)
			d.data = d.data[:0]
			return true
		}
		return false
	})
	if err != nil {
		return "", fmt.Errorf("reading scan: %w", err)
	}
	if !printable(raw) {
		return "", &GarbledError{Raw: raw}
	}
	return string(raw), nil
}

func printable(b []byte) bool {
	if len(b) == 0 || len(b) > maxScan || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
