package trace

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/possim/possim/simulators/iso"
)

// half is one direction of a TCP connection: the bytes not yet cut into
// frames, and the messages cut so far.
type half struct {
	buf  []byte
	pos  int64 // stream position of buf[0], counted from the first byte seen
	msgs []*Message
}

// add takes reassembled bytes; skip > 0 says that many bytes are missing
// before them (a gap in the sequence numbers the capture never saw).
func (h *half) add(s *stream, dir int, data []byte, skip int, ci func(int) gopacket.CaptureInfo) {
	if len(data) == 0 && skip <= 0 {
		return
	}
	info := func(off int) gopacket.CaptureInfo {
		if len(data) == 0 {
			return ci(0) // a gap alone: where it was seen
		}
		if off < 0 {
			off = 0
		}
		if off >= len(data) {
			off = len(data) - 1
		}
		if off < 0 {
			return gopacket.CaptureInfo{}
		}
		return ci(off)
	}
	if skip > 0 {
		h.cut(s.f.dialect, info(0)) // frames complete before the gap
		if len(h.buf) > 0 {
			m := h.message(info(0))
			malformed(m, h.buf, fmt.Sprintf("frame cut short by %d bytes missing from the capture", skip))
			h.msgs = append(h.msgs, m)
			h.pos += int64(len(h.buf))
			h.buf = nil
		}
		from, to := s.a, s.b
		if dir == 1 {
			from, to = to, from
		}
		gap := h.message(info(0))
		gap.Kind = KindEvent
		gap.Text = fmt.Sprintf("gap: %d bytes missing from %s to %s at stream byte %d", skip, from, to, h.pos)
		h.msgs = append(h.msgs, gap)
		s.f.t.Gaps = append(s.f.t.Gaps, Problem{Where: "connection " + connKey(s.a, s.b) + " at stream byte " + strconv.FormatInt(h.pos, 10) + " (" + gap.Where + ")",
			Err: fmt.Errorf("%d bytes from %s to %s missing from the capture", skip, from, to)})
		h.pos += int64(skip)
	}
	base := len(h.buf)
	h.buf = append(h.buf, data...)
	h.cutWith(s.f.dialect, func(end int) gopacket.CaptureInfo { return info(end - base - 1) })
}

// cut frames what is buffered, every frame stamped with ci.
func (h *half) cut(d *iso.Dialect, ci gopacket.CaptureInfo) {
	h.cutWith(d, func(int) gopacket.CaptureInfo { return ci })
}

// cutWith cuts every complete frame off the buffer; at(end) is the capture
// info of the packet holding buffer byte end-1, the frame's last.
func (h *half) cutWith(d *iso.Dialect, at func(end int) gopacket.CaptureInfo) {
	hs := lengthSize(d.Framing.Length)
	off := 0
	if hs == 0 {
		// Without a length header a frame is what one segment carried,
		// as hosts without framing read it.
		if len(h.buf) > 0 {
			m := h.message(at(len(h.buf)))
			decodeFrame(d, m, h.buf)
			h.msgs = append(h.msgs, m)
			off = len(h.buf)
		}
	}
	for hs > 0 && len(h.buf)-off >= hs {
		n, err := frameSize(d, h.buf[off:])
		if err != nil {
			// No frame here: what follows cannot be framed either until
			// the connection starts again, so all of it is one bad frame.
			m := h.message(at(len(h.buf)))
			malformed(m, h.buf[off:], err.Error())
			h.msgs = append(h.msgs, m)
			off = len(h.buf)
			break
		}
		end := off + n
		if end > len(h.buf) {
			break
		}
		m := h.message(at(end))
		decodeFrame(d, m, h.buf[off:end])
		h.msgs = append(h.msgs, m)
		off = end
	}
	h.pos += int64(off)
	h.buf = append(h.buf[:0], h.buf[off:]...)
}

// end is the end of the connection: bytes left over are a frame that
// never completed.
func (h *half) end(s *stream) {
	if len(h.buf) == 0 {
		return
	}
	var last time.Time
	if len(h.msgs) > 0 {
		last = h.msgs[len(h.msgs)-1].Time
	}
	m := &Message{Time: last, Where: "end of connection"}
	why := fmt.Sprintf("connection ended inside a frame: %d bytes of it captured", len(h.buf))
	if hs := lengthSize(s.f.dialect.Framing.Length); hs > 0 && len(h.buf) >= hs {
		if n, err := frameSize(s.f.dialect, h.buf); err == nil {
			why = fmt.Sprintf("connection ended inside a frame: %d of %d bytes captured", len(h.buf)-hs, n-hs)
		}
	}
	malformed(m, h.buf, why)
	h.msgs = append(h.msgs, m)
	h.buf = nil
}

func (h *half) message(ci gopacket.CaptureInfo) *Message {
	m := &Message{Time: ci.Timestamp}
	for _, a := range ci.AncillaryData {
		if n, ok := a.(packetNo); ok {
			m.Where = "packet " + strconv.Itoa(int(n))
		}
	}
	return m
}
