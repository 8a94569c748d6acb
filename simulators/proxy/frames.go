package proxy

import (
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// staleAfter is how long a frame may stay incomplete with no new byte
// before its bytes are passed on as they are: a stream that only looked
// like possim87 must not stall.
const staleAfter = time.Second

// frameState is the per-connection state of an ISO toxic: the bytes of a
// frame not yet complete and the frames held back for later. Toxiproxy
// keeps it on the stub across a toxic's interruptions.
type frameState struct {
	buf  []byte
	last time.Time // when buf last grew
	raw  bool      // the stream is not possim87: pass every byte through
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

// handler decides what becomes of one complete possim87 frame (header
// included) whose message unpacked as m; it returns the frames to send on,
// none to drop it.
type handler func(frame []byte, m *iso8583.Message) []out

func newFrameState() any { return &frameState{} }

// pipeFrames runs an ISO toxic on stub: it cuts the stream into possim87
// frames and hands each one that unpacks to h. Bytes that are not possim87
// (a header of 0 or above the limit) switch the connection to pass-through;
// a frame that does not unpack goes on untouched.
func pipeFrames(stub *toxics.ToxicStub, h handler) {
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
			st.take(stub, c.Data, h)
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
func (st *frameState) take(stub *toxics.ToxicStub, data []byte, h handler) {
	if st.raw {
		send(stub, data)
		return
	}
	st.buf = append(st.buf, data...)
	st.last = time.Now()
	for len(st.buf) >= 2 {
		n := int(st.buf[0])<<8 | int(st.buf[1])
		if n == 0 || n > iso.MaxMessageLength {
			st.raw = true
			st.flushRaw(stub)
			return
		}
		if len(st.buf) < 2+n {
			return
		}
		frame := append([]byte(nil), st.buf[:2+n]...)
		st.buf = st.buf[2+n:]
		m := iso8583.NewMessage(iso.Spec87)
		if err := m.Unpack(frame[2:]); err != nil {
			send(stub, frame)
			continue
		}
		now := time.Now()
		for _, o := range h(frame, m) {
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
