package resilience

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
)

// ErrNoAnswer is a request whose answer never came: the connection failed
// or timed out after the request may have reached the host, so its outcome
// is in doubt.
var ErrNoAnswer = errors.New("no answer")

// Terminal is a minimal terminal: one connection, one request in flight,
// answers matched on STAN.
type Terminal struct {
	ID       string
	Merchant string
	Card     profile.Card
	Currency string
	Software string
	Timeout  time.Duration

	nc   net.Conn
	br   *bufio.Reader
	stan int
}

// Dial connects the terminal to addr, replacing any earlier connection.
func (t *Terminal) Dial(ctx context.Context, addr string) error {
	t.Close()
	d := net.Dialer{Timeout: 2 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("terminal %s: dialing %s: %w", t.ID, addr, err)
	}
	t.nc, t.br = nc, bufio.NewReader(nc)
	return nil
}

// Close drops the connection.
func (t *Terminal) Close() {
	if t.nc != nil {
		t.nc.Close()
		t.nc = nil
	}
}

// NextSTAN takes the next STAN.
func (t *Terminal) NextSTAN() string {
	t.stan = t.stan%999999 + 1
	return fmt.Sprintf("%06d", t.stan)
}

// SetSTAN starts the STAN sequence after n.
func (t *Terminal) SetSTAN(n int) { t.stan = n }

// Sale builds a card sale of amount fen with a fresh STAN.
func (t *Terminal) Sale(amount int64, now time.Time) *iso8583.Message {
	m, _ := iso.NewMessage(&iso.Financial{MTI: iso.MTIFinancialRequest, PAN: t.Card.PAN, ProcessingCode: iso.ProcPurchase,
		Amount: fmt.Sprintf("%012d", amount), TransmissionDT: now.UTC().Format("0102150405"), STAN: t.NextSTAN(),
		LocalTime: now.Format("150405"), LocalDate: now.Format("0102"), Expiry: t.Card.ExpiryYYMM(),
		EntryMode: iso.EntryManual + "2", ConditionCode: "00", TerminalID: t.ID, MerchantID: t.Merchant,
		Currency: t.Currency, Reserved60: "000001" + t.Software})
	return m
}

// Reversal builds a 0400 with a fresh STAN undoing sale.
func (t *Terminal) Reversal(sale *iso8583.Message, now time.Time) *iso8583.Message {
	stan, _ := sale.GetString(11)
	dt, _ := sale.GetString(7)
	amount, _ := sale.GetString(4)
	m, _ := iso.NewMessage(&iso.Financial{MTI: iso.MTIReversal, PAN: t.Card.PAN, ProcessingCode: iso.ProcPurchase,
		Amount: amount, TransmissionDT: now.UTC().Format("0102150405"), STAN: t.NextSTAN(),
		LocalTime: now.Format("150405"), LocalDate: now.Format("0102"), EntryMode: iso.EntryManual + "2",
		ConditionCode: "00", TerminalID: t.ID, MerchantID: t.Merchant, Currency: t.Currency,
		OriginalData: iso.OriginalData(iso.MTIFinancialRequest, stan, dt)})
	return m
}

// Echo builds a network echo test (0800, 301).
func (t *Terminal) Echo(now time.Time) *iso8583.Message {
	m, _ := iso.NewMessage(&iso.Network{MTI: iso.MTINetworkRequest, TransmissionDT: now.UTC().Format("0102150405"),
		STAN: t.NextSTAN(), TerminalID: t.ID, MerchantID: t.Merchant, NetworkCode: iso.NetEcho})
	return m
}

// Send writes m and reads until its answer. Any failure after the write
// wraps ErrNoAnswer; the connection is then closed, since a late answer
// could otherwise be taken for the next one's.
func (t *Terminal) Send(m *iso8583.Message) (*iso8583.Message, error) {
	if t.nc == nil {
		return nil, fmt.Errorf("terminal %s: not connected: %w", t.ID, ErrNoAnswer)
	}
	stan, _ := m.GetString(11)
	packed, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("terminal %s: packing: %w", t.ID, err)
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	t.nc.SetDeadline(time.Now().Add(timeout))
	if _, err := t.nc.Write(iso.Frame(packed)); err != nil {
		t.Close()
		return nil, fmt.Errorf("terminal %s: %w: %v", t.ID, ErrNoAnswer, err)
	}
	for {
		resp, err := ReadMessage(t.br)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("terminal %s: %w: %v", t.ID, ErrNoAnswer, err)
		}
		if s, _ := resp.GetString(11); s == stan {
			return resp, nil
		}
	}
}

// ReadMessage reads one length-prefixed possim87 message.
func ReadMessage(r io.Reader) (*iso8583.Message, error) {
	n, err := iso.ReadLength(r)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, err
	}
	m := iso8583.NewMessage(iso.Spec87)
	if err := m.Unpack(raw); err != nil {
		return nil, fmt.Errorf("unpacking answer: %w", err)
	}
	return m, nil
}

// RC is field 39 of an answer.
func RC(m *iso8583.Message) string {
	s, _ := m.GetString(39)
	return s
}

// loadTerminals makes n terminals of the profile's load range, each with a
// load card of its own.
func loadTerminals(p *profile.Profile, n int) ([]*Terminal, error) {
	var out []*Terminal
	for _, pt := range p.Terminals {
		if len(out) == n {
			break
		}
		if len(pt.ID) < 4 || pt.ID[:4] != "LOAD" {
			continue
		}
		c, err := p.Card("load-" + fmt.Sprintf("%04d", len(out)+1))
		if err != nil {
			return nil, fmt.Errorf("load card for %s: %w", pt.ID, err)
		}
		out = append(out, &Terminal{ID: pt.ID, Merchant: pt.Merchant, Card: c, Currency: p.CurrencyCode,
			Software: pt.Software, Timeout: 3 * time.Second})
	}
	if len(out) < n {
		return nil, fmt.Errorf("the profile has %d load terminals, want %d", len(out), n)
	}
	return out, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
