package acquirer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
	"github.com/possim/possim/simulators/iso"
)

// newConn sets up one served connection; h.mu is held. The host runs its
// own connection loop rather than iso8583-connection's: one reader goroutine
// per connection, a handler goroutine per message in flight (bounded per
// connection, and kept for the next message), and responses written
// straight from the handler under a write deadline.
// The library's goroutine hops and per-message timers cost about 7 µs of
// CPU per sale, and its write path had no deadline: a client that never
// read its answers held the host's goroutines for ever (docs/BENCHMARKS.md).
func (h *Host) newConn(nc net.Conn, fr *frameReader) *hostConn {
	hc := &hostConn{h: h, raw: nc, remote: remoteOf(nc), done: make(chan struct{}),
		wlock: make(chan struct{}, 1), slots: make(chan struct{}, maxInFlight), work: make(chan job)}
	hc.rd = &connReader{fr: fr, h: h, hc: hc}
	return hc
}

// maxInFlight bounds the messages of one connection being handled at once:
// a client that floods requests, or never reads its answers, holds at most
// this many goroutines before the host stops reading from it.
const maxInFlight = 32

// readLoop reads frames until the connection fails or closes, and hands
// each message to a handler goroutine, so a delayed answer does not hold
// up the next request. A handler that has answered waits for the next
// message of its connection (see handle) instead of exiting: a goroutine
// started per message grew its stack afresh each time, about 2.5 % of the
// host's CPU under load.
func (hc *hostConn) readLoop() {
	br := bufio.NewReaderSize(hc.raw, 4096)
	for {
		m, env, err := hc.rd.ReadMessage(br)
		if err != nil {
			hc.close()
			return
		}
		select {
		case hc.slots <- struct{}{}:
		case <-hc.done:
			return
		}
		j := job{m, env.Reply()}
		select {
		case hc.work <- j:
			continue // an idle handler took it
		default:
		}
		// The reader is itself counted in h.wg, so adding to it here is
		// allowed even while Close waits.
		hc.h.wg.Add(1)
		hc.h.handlers.Add(1)
		go hc.handle(j)
	}
}

// job is a message for a handler and the envelope of its answer.
type job struct {
	m   *iso8583.Message
	env iso.Envelope
}

// maxIdleHandlers is how many handlers of one connection wait for its next
// message; one more finishing exits. A terminal has one request in flight,
// a concentrator a few: the handlers they need stay, and a connection that
// had a burst does not keep a goroutine per message of it.
const maxIdleHandlers = 2

// handle answers j, then the connection's next messages, until there are
// more idle handlers than maxIdleHandlers or the connection closes.
func (hc *hostConn) handle(j job) {
	defer hc.h.wg.Done()
	for {
		hc.h.onMessage(hc, j.m, j.env)
		j = job{}
		<-hc.slots
		if hc.idle.Add(1) > maxIdleHandlers {
			hc.idle.Add(-1)
			return
		}
		select {
		case j = <-hc.work:
			hc.idle.Add(-1)
		case <-hc.done:
			hc.idle.Add(-1)
			return
		}
	}
}

// wbatch is answers of one connection that go out in one write.
type wbatch struct {
	buf  []byte        // frames, length headers included
	done chan struct{} // closed once buf is written or has failed
	err  error         // the write's outcome, read after done
}

// write sends one frame under the write deadline. Answers that are ready
// while another is being written are queued and go out together in the
// next write, one system call for all of them (group commit releases a
// batch of answers at once): whichever of their handlers gets the writer's
// turn first writes them all, and the others return with its outcome. A
// handler returns only once its frame is written or has failed, so a peer
// that does not read holds at most maxInFlight handlers and their frames,
// and is disconnected after WriteTimeout.
func (hc *hostConn) write(frame []byte) error {
	return hc.send(nil, frame)
}

// send queues hdr and body as one frame and returns once it is written.
func (hc *hostConn) send(hdr, body []byte) error {
	hc.wmu.Lock()
	b := hc.wq
	if b == nil {
		// Nothing queued: if no write is in progress either, write at once
		// from the connection's buffer, without a batch.
		select {
		case hc.wlock <- struct{}{}:
			buf := append(append(hc.spare[:0], hdr...), body...)
			hc.spare = nil
			hc.wmu.Unlock()
			err := hc.writeOut(buf)
			<-hc.wlock
			return err
		default:
		}
		b = &wbatch{buf: hc.spare[:0], done: make(chan struct{})}
		hc.spare = nil
		hc.wq = b
	}
	b.buf = append(append(b.buf, hdr...), body...)
	hc.wmu.Unlock()
	select {
	case hc.wlock <- struct{}{}:
	case <-b.done:
		return b.err
	case <-hc.done:
		return net.ErrClosed
	}
	defer func() { <-hc.wlock }()
	select {
	case <-b.done: // written by the previous holder of the turn
		return b.err
	default:
	}
	// b is not written and only the holder of the turn takes the queue, so
	// the queue is b.
	hc.wmu.Lock()
	hc.wq = nil
	hc.wmu.Unlock()
	b.err = hc.writeOut(b.buf)
	close(b.done)
	return b.err
}

// writeOut writes buf under the write deadline; the caller holds the turn.
// On success the buffer is kept for the next answers.
func (hc *hostConn) writeOut(buf []byte) error {
	hc.raw.SetWriteDeadline(time.Now().Add(hc.h.cfg.WriteTimeout))
	_, err := hc.raw.Write(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			hc.h.warn.Warn("deaf", "closing connection: peer does not read its responses", "remote", hc.remote,
				"write_timeout", hc.h.cfg.WriteTimeout)
		}
		hc.close()
		return err
	}
	if cap(buf) <= maxSpare {
		hc.wmu.Lock()
		if hc.spare == nil {
			hc.spare = buf
		}
		hc.wmu.Unlock()
	}
	return nil
}

// maxSpare bounds the write buffer a connection keeps between batches.
const maxSpare = 64 << 10

// writeMessage packs m and writes it framed in one write; env is the
// envelope of the answer (the request's, TPDU swapped).
func (hc *hostConn) writeMessage(m *iso8583.Message, env iso.Envelope) error {
	// Responses are built in the host's spec; a listener of another
	// dialect gets them in its own (Convert returns m itself otherwise).
	m, err := hc.rd.fr.dialect().Convert(m)
	if err != nil {
		return fmt.Errorf("converting response: %w", err)
	}
	packed, err := m.Pack()
	if err != nil {
		return fmt.Errorf("packing response: %w", err)
	}
	return hc.writePacked(packed, env)
}

// writePacked frames a packed message in the connection's dialect and writes it.
func (hc *hostConn) writePacked(packed []byte, env iso.Envelope) error {
	frame, err := hc.rd.fr.dialect().AppendFrame(nil, env, packed)
	if err != nil {
		return fmt.Errorf("framing response: %w", err)
	}
	return hc.write(frame)
}

// close closes the connection once; the reader and every handler see it.
func (hc *hostConn) close() {
	hc.closeOnce.Do(func() {
		close(hc.done)
		hc.raw.Close()
	})
}

func remoteOf(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return "pipe"
}

// errUnreadable is a frame whose MTI cannot be read: the connection is
// closed, since nothing can be answered.
var errUnreadable = errors.New("frame without a readable MTI")

// frameReader reads one frame of a listener's dialect and unpacks it. A
// frame that does not unpack, or whose TPDU or header does not fit, but
// whose MTI reads as four digits becomes a "malformed" message (see
// malformedSpec) that the host answers 30; anything else is an error that
// closes the connection. It holds no state, so one serves every
// connection of its listener.
type frameReader struct {
	spec *iso8583.MessageSpec
	d    *iso.Dialect // nil: possim87 framing around spec
}

// dialect is the reader's wire. New always sets d; a reader made without
// it (tests) gets possim87 around its spec, built anew each time because
// the reader is shared by every connection and must not be written to.
func (fr *frameReader) dialect() *iso.Dialect {
	if fr.d == nil {
		return iso.WithSpec(fr.spec)
	}
	return fr.d
}

// malformedSpec marks messages the host must answer 30: the MTI, and the
// STAN and terminal ID when they could be read before unpacking failed.
var malformedSpec = &iso8583.MessageSpec{
	Name: "possim-malformed",
	Fields: map[int]field.Field{
		0:  field.NewString(&field.Spec{Length: 4, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed}),
		1:  field.NewBitmap(&field.Spec{Length: 8, Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed}),
		11: field.NewString(&field.Spec{Length: 6, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed}),
		41: field.NewString(&field.Spec{Length: 8, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed}),
		48: field.NewString(&field.Spec{Length: 999, Enc: encoding.ASCII, Pref: prefix.ASCII.LLL}), // why it failed
	},
}

// ReadFrame reads and unpacks one frame from r.
func (fr *frameReader) ReadFrame(r io.Reader) (*iso8583.Message, error) {
	m, _, err := fr.readFrame(r)
	return m, err
}

// readFrame reads one frame and returns its message and envelope.
func (fr *frameReader) readFrame(r io.Reader) (*iso8583.Message, iso.Envelope, error) {
	d := fr.dialect()
	env, body, off, err := d.ReadFrame(r)
	if err != nil && (body == nil || !isFrameError(err)) {
		return nil, env, fmt.Errorf("reading frame: %w", err)
	}
	m, uerr := fr.unpackAt(body, off)
	if err == nil || uerr != nil {
		return m, env, uerr
	}
	if m.GetSpec() == malformedSpec {
		return m, d.Fit(env), nil
	}
	// The envelope did not fit but the message did: answer it 30 all the
	// same, with the reason, in an envelope the sender can read.
	return fr.malformed(m, err), d.Fit(env), nil
}

// isFrameError is apart so that its target escapes only on the error
// path: declared in readFrame it cost an allocation per frame.
func isFrameError(err error) bool {
	var fe *iso.FrameError
	return errors.As(err, &fe)
}

// unpack unpacks a message body of the host's dialect.
func (fr *frameReader) unpack(raw []byte) (*iso8583.Message, error) {
	return fr.unpackAt(raw, fr.dialect().Framing.Offset())
}

func (fr *frameReader) unpackAt(raw []byte, off int) (*iso8583.Message, error) {
	m, uerr := fr.dialect().Unpack(raw, off)
	if uerr == nil {
		// A frame can unpack with letters for an MTI (the spec reads it as
		// text): nothing can be answered to it, so it is unreadable too.
		if mti, _ := m.GetMTI(); len(mti) != 4 || !digits(mti) {
			return nil, fmt.Errorf("%w: MTI %q is not 4 digits", errUnreadable, mti)
		}
		return m, nil
	}
	if mti := safeMTI(m); len(mti) != 4 || !digits(mti) {
		return nil, fmt.Errorf("%w (%d bytes): %v", errUnreadable, len(raw), uerr)
	}
	return fr.malformed(m, uerr), nil
}

// malformed is the marker message for a frame the host answers 30: the
// MTI, and the STAN and terminal ID when they could be read before
// unpacking failed, so the terminal can match the answer.
func (fr *frameReader) malformed(m *iso8583.Message, why error) *iso8583.Message {
	bad := iso8583.NewMessage(malformedSpec)
	bad.MTI(safeMTI(m))
	if s := safeGet(m, 11); len(s) == 6 && digits(s) {
		bad.Field(11, s)
	}
	if s := safeGet(m, 41); len(s) == 8 {
		bad.Field(41, s)
	}
	msg := why.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	bad.Field(48, msg)
	return bad
}

func safeMTI(m *iso8583.Message) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	s, _ = m.GetMTI()
	return s
}

func safeGet(m *iso8583.Message, id int) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	s, _ = m.GetString(id)
	return s
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// connReader is the per-connection MessageReader: deadlines and logging
// around the shared frameReader.
type connReader struct {
	fr       *frameReader
	h        *Host
	hc       *hostConn
	deadline bool // a read deadline is set on the connection
}

func (cr *connReader) ReadMessage(r io.Reader) (*iso8583.Message, iso.Envelope, error) {
	h, raw := cr.h, cr.hc.raw
	if h.cfg.IdleTimeout > 0 {
		raw.SetReadDeadline(time.Now().Add(h.cfg.IdleTimeout))
		cr.deadline = true
	} else if cr.deadline {
		raw.SetReadDeadline(time.Time{})
		cr.deadline = false
	}
	if br, ok := r.(*bufio.Reader); ok {
		// Wait for the frame's first byte under the idle deadline; then,
		// unless the whole frame is already buffered (the usual case), give
		// the rest, header included, ReadTimeout to arrive: a client that
		// sends half a header is closed like one that sends half a frame.
		if _, err := br.Peek(1); err != nil {
			return nil, iso.Envelope{}, cr.fail(err)
		}
		complete := false
		if hdr, _ := br.Peek(br.Buffered()); len(hdr) > 0 {
			size, ok := cr.fr.dialect().FrameSize(hdr)
			complete = ok && len(hdr) >= size
		}
		if !complete {
			raw.SetReadDeadline(time.Now().Add(h.cfg.ReadTimeout))
			cr.deadline = true
		}
	}
	m, env, err := cr.fr.readFrame(r)
	if err != nil {
		return nil, env, cr.fail(err)
	}
	return m, env, nil
}

func (cr *connReader) fail(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		cr.h.warn.Log(slog.LevelInfo, "idle", "closing idle or stalled connection", "remote", cr.hc.remote)
		return err
	}
	cr.h.countBad(true)
	cr.h.warn.Warn("unreadable", "closing connection: unreadable frame", "remote", cr.hc.remote, "err", err)
	return err
}
