package acquirer

import (
	"errors"
	"syscall"
	"time"
)

// Accept backoff, as net/http.Server does it: a failed accept that may
// succeed later (out of file descriptors, a connection aborted before it
// was taken) is retried after a pause that doubles from acceptDelayMin to
// acceptDelayMax, so the host keeps listening instead of refusing every
// later terminal while it looks healthy.
const (
	acceptDelayMin = 5 * time.Millisecond
	acceptDelayMax = time.Second
)

// temporaryAccept reports whether an accept error may clear on its own.
func temporaryAccept(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED,
		syscall.ENOBUFS, syscall.ENOMEM, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	// Listeners of other kinds (and the net package's own errors) say so
	// themselves; Temporary is deprecated for reads, not for Accept.
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && to.Timeout()
}

// acceptBackoff is the state of one run of failed accepts: it is logged
// once when it starts and once when accepting works again, with the count,
// rather than once per failure.
type acceptBackoff struct {
	delay  time.Duration
	failed int
	first  error
}

// wait pauses before the next accept; false when the host closed meanwhile.
func (b *acceptBackoff) wait(h *Host, err error) bool {
	if b.failed == 0 {
		b.first = err
		h.log.Error("accept failing; backing off and retrying", "err", err,
			"hint", "out of file descriptors? lower --max-conns or raise the open-file limit")
		b.delay = acceptDelayMin
	} else {
		b.delay = min(2*b.delay, acceptDelayMax)
	}
	b.failed++
	h.statsMu.Lock()
	h.stats.AcceptErrors++
	h.statsMu.Unlock()
	t := time.NewTimer(b.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-h.done:
		return false
	}
}

// recovered ends a run of failures after a successful accept.
func (b *acceptBackoff) recovered(h *Host) {
	if b.failed == 0 {
		return
	}
	h.log.Warn("accepting again", "failed_accepts", b.failed, "first_err", b.first)
	*b = acceptBackoff{}
}

// serveFailed keeps the first error that stopped a listener, for Err.
func (h *Host) serveFailed(err error) {
	select {
	case h.serveErr <- err:
	default:
	}
}

// Err delivers the first error that made a listener (Start's or Serve's)
// stop for good
// (one that backing off cannot cure); a program running the host should
// exit on it rather than go on looking healthy. Nothing arrives after Close.
func (h *Host) Err() <-chan error { return h.serveErr }
