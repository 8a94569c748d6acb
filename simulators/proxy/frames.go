package proxy

import (
	"bytes"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// staleAfter is how long a frame may stay incomplete with no new byte
// before its bytes are passed on as they are: a stream that only looked
// like the dialect must not stall.
const staleAfter = time.Second

// frameState is the per-connection state of an ISO toxic: the bytes of a
// frame not yet complete and the frames held back for later. Toxiproxy
// keeps it on the stub across a toxic's interruptions.
type frameState struct {
	buf  []byte
	last time.Time // when buf last grew
	raw  bool      // the stream is not in the dialect: pass every byte through
	held []heldFrame
}

type heldFrame struct {
	at   time.Time
	data []byte
}

// out is one frame a handler sends on, after a delay.
type out struct {
	data  []byte
	after time.Duration
}

// isoFrame is one complete frame of the dialect, length header, TPDU and
// application header included, whose message unpacked as msg.
type isoFrame struct {
	raw []byte
	msg *iso8583.Message
	d   *iso.Dialect
	env iso.Envelope // as received: a rewrite keeps it byte for byte
	off int          // where the message starts in raw
}

// handler decides what becomes of one frame; it returns the frames to
// send on, none to drop it.
type handler func(f *isoFrame) []out

func newFrameState() any { return &frameState{} }

// pipeFrames runs an ISO toxic on stub: it cuts the stream into frames of
// dialect d and hands each one that unpacks to h. Bytes that are not in
// the dialect (a length header that is no length, 0 or above the limit)
// switch the connection to pass-through; a frame whose envelope or
// message does not fit goes on untouched.
func pipeFrames(stub *toxics.ToxicStub, d *iso.Dialect, h handler) {
	st, ok := stub.State.(*frameState)
	if !ok {
		st = &frameState{}
		stub.State = st
	}
	for {
		var timer *time.Timer
		var fire <-chan time.Time
		if d, ok := st.nextDeadline(); ok {
			timer = time.NewTimer(time.Until(d))
			fire = timer.C
		}
		select {
		case <-stub.Interrupt:
			// Held frames stay in the state: an update runs the toxic
			// again, a removal sends them on in cleanupFrames.
			stopTimer(timer)
			return
		case c := <-stub.Input:
			stopTimer(timer)
			if c == nil {
				st.releaseHeld(stub, time.Time{})
				st.flushRaw(stub)
				stub.Close()
				return
			}
			st.take(stub, d, c.Data, h)
		case <-fire:
			st.releaseHeld(stub, time.Now())
			if len(st.buf) > 0 && time.Since(st.last) >= staleAfter {
				st.flushRaw(stub)
			}
		}
	}
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// cleanup sends on what the state still holds when its toxic is removed.
func cleanupFrames(stub *toxics.ToxicStub) {
	if st, ok := stub.State.(*frameState); ok {
		st.releaseHeld(stub, time.Time{})
		st.flushRaw(stub)
	}
}

// take appends data and handles every frame now complete.
func (st *frameState) take(stub *toxics.ToxicStub, d *iso.Dialect, data []byte, h handler) {
	if st.raw {
		send(stub, data)
		return
	}
	st.buf = append(st.buf, data...)
	st.last = time.Now()
	hs := lengthSize(d.Framing.Length)
	for len(st.buf) > 0 {
		n := len(st.buf) // without a length header, a chunk is a frame
		if hs > 0 {
			if len(st.buf) < hs {
				break
			}
			size, ok := d.FrameSize(st.buf)
			if !ok || size <= hs || size > d.Framing.MaxFrame {
				st.raw = true
				st.flushRaw(stub)
				return
			}
			if len(st.buf) < size {
				break
			}
			n = size
		}
		frame := append([]byte(nil), st.buf[:n]...)
		st.buf = st.buf[n:]
		f, ok := unframe(d, frame)
		if !ok {
			send(stub, frame)
			continue
		}
		now := time.Now()
		for _, o := range h(f) {
			if o.after <= 0 {
				send(stub, o.data)
				continue
			}
			st.hold(now.Add(o.after), o.data)
		}
	}
	if len(st.buf) == 0 {
		st.buf = nil
	}
}

// unframe reads one whole frame; ok is false when its envelope or its
// message does not fit the dialect.
func unframe(d *iso.Dialect, frame []byte) (*isoFrame, bool) {
	env, body, off, err := d.ReadFrame(bytes.NewReader(frame))
	if err != nil {
		return nil, false
	}
	m, err := d.Unpack(body, off)
	if err != nil {
		return nil, false
	}
	return &isoFrame{raw: frame, msg: m, d: d, env: env, off: off}, true
}

// lengthSize is the size of a length header of kind l.
func lengthSize(l iso.LengthHeader) int {
	switch l {
	case iso.LengthBinary2, iso.LengthBCD2:
		return 2
	case iso.LengthASCII4:
		return 4
	}
	return 0
}

// hold keeps data until at, in order of release time; frames due at the
// same time keep their arrival order. Frames not held pass the held ones:
// a delayed message does not stop the rest of the stream.
func (st *frameState) hold(at time.Time, data []byte) {
	i := len(st.held)
	for i > 0 && st.held[i-1].at.After(at) {
		i--
	}
	st.held = append(st.held, heldFrame{})
	copy(st.held[i+1:], st.held[i:])
	st.held[i] = heldFrame{at: at, data: data}
}

// releaseHeld sends the held frames due by now; a zero now sends them all.
func (st *frameState) releaseHeld(stub *toxics.ToxicStub, now time.Time) {
	for len(st.held) > 0 && (now.IsZero() || !st.held[0].at.After(now)) {
		send(stub, st.held[0].data)
		st.held = st.held[1:]
	}
}

// flushRaw sends the incomplete bytes on untouched.
func (st *frameState) flushRaw(stub *toxics.ToxicStub) {
	if len(st.buf) > 0 {
		send(stub, st.buf)
		st.buf = nil
	}
}

// nextDeadline is when the loop must wake without input: the first held
// frame's release, or an incomplete frame going stale.
func (st *frameState) nextDeadline() (time.Time, bool) {
	var d time.Time
	if len(st.held) > 0 {
		d = st.held[0].at
	}
	if len(st.buf) > 0 {
		if s := st.last.Add(staleAfter); d.IsZero() || s.Before(d) {
			d = s
		}
	}
	return d, !d.IsZero()
}

func send(stub *toxics.ToxicStub, data []byte) {
	stub.Output <- &stream.StreamChunk{Data: data, Timestamp: time.Now()}
}
