package terminal

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"

	"github.com/possim/possim/card"
	"github.com/possim/possim/simulators/iso"
)

// connect dials the host if there is no live link.
func (t *Terminal) connect(ctx context.Context) error {
	if t.conn != nil {
		select {
		case <-t.conn.Done():
			t.conn = nil
		default:
			return nil
		}
	}
	nc, err := t.cfg.Dial(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLinkDown, err)
	}
	c, err := connection.NewFrom(nc, t.spec, iso.ReadLength, iso.WriteLength,
		connection.SendTimeout(t.cfg.ResponseTimeout),
		// No pings and no read-timeout callbacks: the terminal speaks
		// only when it has something to say, as most POS terminals do.
		connection.IdleTime(24*time.Hour),
		connection.ReadTimeout(24*time.Hour),
		connection.InboundMessageHandler(t.unexpected),
		connection.ErrorHandler(func(err error) { t.log.Debug("host link", "err", err) }),
		// The dialect frames and unpacks: length header, TPDU, header.
		connection.SetMessageReader(t.cfg.Dialect),
		connection.SetMessageWriter(t.cfg.Dialect),
	)
	if err != nil {
		_ = nc.Close()
		return fmt.Errorf("%w: %w", ErrLinkDown, err)
	}
	t.conn = c
	t.deviceEvent("host link up")
	return nil
}

// unexpected handles a message no request waits for, such as the answer
// to a request that already timed out (and was reversed).
func (t *Terminal) unexpected(_ *connection.Connection, m *iso8583.Message) {
	mti, _ := m.GetMTI()
	stan, _ := m.GetString(11)
	t.log.Warn("unexpected message from host ignored", "mti", mti, "stan", stan)
}

func (t *Terminal) hangUp() {
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
}

// exchange sends a request and waits up to ResponseTimeout for its answer.
// It returns ErrLinkDown when the link could not be made or broke, and
// ErrNoResponse when nothing came back in time; sent says whether the
// request may have reached the host (so a reversal is due).
func (t *Terminal) exchange(ctx context.Context, req *iso8583.Message) (resp *iso8583.Message, sent bool, err error) {
	if err := t.connect(ctx); err != nil {
		return nil, false, err
	}
	mti, _ := req.GetMTI()
	t.emit(Event{Kind: EventISOOut, MTI: mti, Fields: MaskFields(req)})
	t.touch()
	resp, err = t.conn.Send(req)
	t.touch()
	switch {
	case err == nil:
	case errors.Is(err, connection.ErrSendTimeout):
		return nil, true, fmt.Errorf("%s: %w within %s", mti, ErrNoResponse, t.cfg.ResponseTimeout)
	case errors.Is(err, connection.ErrConnectionClosed):
		t.hangUp()
		return nil, true, fmt.Errorf("%s: %w: connection closed", mti, ErrLinkDown)
	default:
		// A pack error never left the terminal.
		return nil, false, fmt.Errorf("sending %s: %w", mti, err)
	}
	rmti, _ := resp.GetMTI()
	t.emit(Event{Kind: EventISOIn, MTI: rmti, Fields: MaskFields(resp)})
	t.noteKeyChange(mti, resp)
	if want := iso.ResponseMTI(mti); rmti != want {
		return resp, true, fmt.Errorf("host answered %s with %s, want %s", mti, rmti, want)
	}
	return resp, true, nil
}

// transmissionTime is field 7, MMDDhhmmss (GMT by the standard; the lab
// runs on one clock so local time is used).
func (t *Terminal) transmissionTime(now time.Time) string { return now.Format("0102150405") }

// MaskFields returns the fields of m as strings, masked for logs and
// events: PAN 6+4, track 2, PIN block, ICC data and key blocks hidden, the
// QR payment code shortened.
func MaskFields(m *iso8583.Message) map[string]string {
	out := map[string]string{}
	fields := m.GetFields()
	ids := make([]int, 0, len(fields))
	for id := range fields {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		if id <= 1 {
			continue
		}
		v, err := fields[id].String()
		if err != nil {
			continue
		}
		out[strconv.Itoa(id)] = maskField(id, v)
	}
	return out
}

func maskField(id int, v string) string {
	switch id {
	case 2:
		return card.MaskPAN(v)
	case 35, 36, 45:
		return "[track data]"
	case 52:
		return "[PIN block]"
	case 55:
		return fmt.Sprintf("[ICC data, %d bytes]", len(v)/2)
	case 62:
		if len(v) >= 38 {
			return "[key block] KCV " + v[len(v)-6:]
		}
		return v
	case 48:
		return card.MaskPaymentCode(v)
	}
	return v
}
