package terminal

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/cardreader"
	"github.com/possim/possim/virtualdevices/pinpad"
	"github.com/possim/possim/virtualdevices/printer"
	"github.com/possim/possim/virtualdevices/scanner"
	"github.com/possim/possim/virtualdevices/serial"
)

// lab is a terminal with virtual devices joined by in-memory serial links
// and a host behind Dial.
type lab struct {
	t       testing.TB
	p       *profile.Profile
	term    *Terminal
	host    *miniHost
	printer *printer.Printer
	reader  *cardreader.Reader
	pad     *pinpad.Pad
	scanner *scanner.Scanner

	mu     sync.Mutex
	events []Event
}

type labOption func(*Config)

func newLab(t testing.TB, opts ...labOption) *lab {
	t.Helper()
	p := profile.Default()
	l := &lab{t: t, p: p, host: newMiniHost(t, p)}
	cfg := Config{
		Profile: p,
		Dial:    func(ctx context.Context) (net.Conn, error) { return l.host.dial() },
		Now:     func() time.Time { return time.Now() },
		OnEvent: func(e Event) {
			l.mu.Lock()
			l.events = append(l.events, e)
			l.mu.Unlock()
		},
	}
	l.attachDevices(&cfg, nil)
	for _, o := range opts {
		o(&cfg)
	}
	term, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.term = term
	t.Cleanup(l.close)
	return l
}

// attachDevices makes the virtual printer, reader and PIN pad and gives the
// terminal their drivers over serial.Pipe links (or over the links given).
func (l *lab) attachDevices(cfg *Config, links map[string][2]io.ReadWriteCloser) {
	l.t.Helper()
	link := func(name string) (dev, pos io.ReadWriteCloser) {
		if lk, ok := links[name]; ok {
			return lk[0], lk[1]
		}
		a, b := serial.Pipe()
		return a, b
	}
	l.printer = printer.New(printer.Config{Chinese: strings.HasPrefix(l.p.Locale, "zh")})
	dev, pos := link("printer")
	l.printer.Attach(dev)
	pd := printer.NewDriver(pos)
	cfg.Printer = pd
	l.t.Cleanup(func() { _ = pos.Close() })

	r, err := cardreader.New(cardreader.Config{Cards: cardreader.CardsFromProfile(l.p.Cards), IssuerMasterKey: l.p.Keys.IMK()})
	if err != nil {
		l.t.Fatal(err)
	}
	l.reader = r
	dev, pos = link("cardreader")
	r.Attach(dev)
	rd := cardreader.NewDriver(pos, cardreader.DriverConfig{})
	cfg.Reader = rd
	l.t.Cleanup(func() { _ = rd.Close() })

	pad, err := pinpad.New(pinpad.Config{MasterKey: l.p.Keys.TMK()})
	if err != nil {
		l.t.Fatal(err)
	}
	l.pad = pad
	dev, pos = link("pinpad")
	pad.Attach(dev)
	ppd := pinpad.NewDriver(pos, pinpad.DriverConfig{})
	cfg.PINPad = ppd
	l.t.Cleanup(func() { _ = ppd.Close() })

	l.scanner = scanner.New(scanner.Config{})
	dev, pos = link("scanner")
	l.scanner.Attach(dev)
	cfg.Scanner = scanner.NewDriver(pos, nil)
	l.t.Cleanup(func() { _ = pos.Close() })
}

func (l *lab) close() {
	_ = l.term.Close()
	l.host.close()
	_ = l.printer.Close()
	_ = l.reader.Close()
	_ = l.pad.Close()
	_ = l.scanner.Close()
}

// ready powers the terminal on and signs it on.
func (l *lab) ready() {
	l.t.Helper()
	ctx := context.Background()
	if _, err := l.term.PowerOn(ctx); err != nil {
		l.t.Fatalf("power on: %v", err)
	}
	if err := l.term.SignOn(ctx); err != nil {
		l.t.Fatalf("sign on: %v", err)
	}
}

func (l *lab) eventsOf(kind string) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// texts joins the texts of the events of a kind.
func (l *lab) texts(kind string) string {
	var b strings.Builder
	for _, e := range l.eventsOf(kind) {
		b.WriteString(e.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// sentFields returns the masked fields of the last iso_out event with mti.
func (l *lab) sentFields(mti string) map[string]string {
	evs := l.eventsOf(EventISOOut)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].MTI == mti {
			return evs[i].Fields
		}
	}
	return nil
}

// checkNoSecrets fails if any event carries a full PAN of the profile.
func (l *lab) checkNoSecrets() {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		for _, c := range l.p.Cards {
			if strings.Contains(e.Text, c.PAN) {
				l.t.Errorf("event %s %q shows a full PAN", e.Kind, e.Text)
			}
			for id, v := range e.Fields {
				if strings.Contains(v, c.PAN) || (id == "35" || id == "52" || id == "55") && !strings.HasPrefix(v, "[") {
					l.t.Errorf("event %s field %s = %q is not masked", e.Kind, id, v)
				}
			}
		}
	}
}

// receipts returns the text of every receipt the virtual printer cut.
func (l *lab) receipts() []string {
	var out []string
	for _, r := range l.printer.Receipts() {
		out = append(out, r.Text)
	}
	return out
}

type result struct {
	x   *Txn
	err error
}

// async runs an operation in the background, so the test can act on the
// devices while the terminal waits for them.
func async(f func() (*Txn, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		x, err := f()
		ch <- result{x, err}
	}()
	return ch
}
