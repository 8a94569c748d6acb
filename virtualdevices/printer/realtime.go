package printer

import (
	"fmt"
	"io"
)

// realtime watches the bytes of a link as they arrive, before the parser
// sees them, and finds every DLE EOT n (n = 1..4) in them, so that status
// is answered in every state, as a real printer answers its real-time
// commands on receipt.
//
// A request the parser reaches as a command is answered then, in order with
// the commands before it (so an answer after a receipt means the receipt was
// taken). A request the parser did not reach as a command (it sat inside
// the data of a command, or the command still waits for its data) is
// answered as soon as the parser asks for more bytes, before waiting for
// them: the parser only asks once it has used up every byte it was given.
// Like a real printer it cannot tell a DLE EOT n inside image data from a
// request, and answers both.
type realtime struct {
	r       io.Reader
	w       io.Writer
	answer  func(n int) []byte
	state   int       // 0: idle; 1: after DLE; 2: after DLE EOT
	off     int64     // bytes read from the link so far
	pending []request // seen and not answered yet, oldest first
}

// request is a DLE EOT n seen in the stream, ending at byte offset end.
type request struct {
	n   int
	end int64
}

// Read answers the requests the parser passed over, then reads from the
// link. A failed answer is returned as the read error.
func (rt *realtime) Read(b []byte) (int, error) {
	if err := rt.flush(rt.off); err != nil {
		return 0, err
	}
	n, err := rt.r.Read(b)
	for _, c := range b[:n] {
		rt.feed(c)
	}
	return n, err
}

// flush answers the pending requests that end at or before offset upTo,
// oldest first.
func (rt *realtime) flush(upTo int64) error {
	for len(rt.pending) > 0 && rt.pending[0].end <= upTo {
		n := rt.pending[0].n
		rt.pending = rt.pending[1:]
		if reply := rt.answer(n); len(reply) > 0 {
			if _, err := rt.w.Write(reply); err != nil {
				return fmt.Errorf("answering DLE EOT %d: %w", n, err)
			}
		}
	}
	if len(rt.pending) == 0 {
		rt.pending = nil
	}
	return nil
}

// reached is the parser reaching a DLE EOT n command that ends at offset
// end: it is answered now, after any request before it that the parser
// passed over, and before the requests still ahead of the parser. The
// recogniser sees every DLE EOT the parser does, so this request is
// pending; if not, it is answered all the same.
func (rt *realtime) reached(n int, end int64) error {
	if len(rt.pending) == 0 || rt.pending[0].end > end {
		rt.pending = append([]request{{n: n, end: end}}, rt.pending...)
	}
	return rt.flush(end)
}

// feed advances the DLE EOT n recogniser by one byte.
func (rt *realtime) feed(c byte) {
	rt.off++
	switch rt.state {
	case 1:
		switch c {
		case eot:
			rt.state = 2
			return
		case dle:
			return
		}
	case 2:
		rt.state = 0
		if isRealtimeStatus(int(c)) {
			rt.pending = append(rt.pending, request{n: int(c), end: rt.off})
			return
		}
	}
	if c == dle {
		rt.state = 1
	} else {
		rt.state = 0
	}
}

// isRealtimeStatus reports whether DLE EOT n is a real-time status request.
func isRealtimeStatus(n int) bool { return n >= 1 && n <= 4 }

// session is one POS session on a link: its parser and the real-time
// status answering in front of it.
type session struct {
	*parser
	rt *realtime
}

// reached answers the DLE EOT n the parser just read, in order.
func (s session) reached(n int) error {
	return s.rt.reached(n, s.rt.off-int64(s.r.Buffered()))
}

// newSession starts a session reading r and answering status on w.
func (p *Printer) newSession(r io.Reader, w io.Writer) session {
	rt := &realtime{r: r, w: w, answer: p.realtimeStatus}
	return session{parser: newParser(rt), rt: rt}
}

// realtimeStatus is the answer to DLE EOT n, given in every state.
func (p *Printer) realtimeStatus(n int) []byte {
	p.mu.Lock()
	b, ok := p.statusByteLocked(n)
	p.mu.Unlock()
	if !ok {
		return nil
	}
	p.emit(Event{Kind: EventStatus, Detail: fmt.Sprintf("DLE EOT %d -> 0x%02X", n, b)})
	return []byte{b}
}
