package acquirer

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/possim/possim/simulators/iso"
)

// strays collects responses that matched no request.
type strays chan *iso8583.Message

func dialStrays(t *testing.T, addr string, timeout time.Duration) (*terminal, strays) {
	t.Helper()
	ch := make(strays, 8)
	c, err := connection.New(addr, iso.Spec87, iso.ReadLength, iso.WriteLength,
		connection.SetRequestIDGenerator(tidSTAN{}), connection.SendTimeout(timeout),
		connection.InboundMessageHandler(func(_ *connection.Connection, m *iso8583.Message) {
			select {
			case ch <- m:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &terminal{t: t, c: c, stan: &stanSeq}, ch
}

func i64(v int64) *int64 { return &v }

func TestFaultActions(t *testing.T) {
	h := startHost(t, nil)
	ctx := context.Background()
	add := func(f Fault) {
		t.Helper()
		if _, err := h.Faults().Add(f); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("respond is journaled", func(t *testing.T) {
		tm := dial(t, h.Addr())
		add(Fault{Match: Match{Alias: "visa-credit"}, Action: ActRespond, Code: "51"})
		f := tm.sale(visa, 100)
		if c := rc(tm.mustSend(f)); c != "51" {
			t.Errorf("answered %s", c)
		}
		e, ok, _ := h.Ledger().Lookup(ctx, keyOf(f))
		if !ok || e.RespCode != "51" {
			t.Errorf("journal %+v %v; want the forced 51", e, ok)
		}
		if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "00" {
			t.Errorf("one-shot fault fired twice: %s", c)
		}
	})
	t.Run("delay", func(t *testing.T) {
		tm := dial(t, h.Addr())
		add(Fault{Match: Match{MTI: "0200"}, Action: ActDelay, Delay: 20 * time.Millisecond})
		if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "00" {
			t.Errorf("answered %s", c)
		}
	})
	t.Run("drop journals but never answers", func(t *testing.T) {
		tm, _ := dialStrays(t, h.Addr(), 300*time.Millisecond)
		add(Fault{Match: Match{Amount: i64(777)}, Action: ActDrop})
		f := tm.sale(visa, 777)
		if _, err := tm.send(f); !errors.Is(err, connection.ErrSendTimeout) {
			t.Errorf("err = %v; want a send timeout", err)
		}
		if e, ok, _ := h.Ledger().Lookup(ctx, keyOf(f)); !ok || e.RespCode != "00" {
			t.Errorf("dropped sale not journaled approved: %+v", e)
		}
	})
	for _, act := range []string{ActClose, ActReset} {
		t.Run(act, func(t *testing.T) {
			tm := dial(t, h.Addr())
			add(Fault{Match: Match{TID: testTID, Nth: 2}, Action: act})
			if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "00" {
				t.Fatalf("first sale answered %s", c)
			}
			if _, err := tm.send(tm.sale(visa, 100)); !errors.Is(err, connection.ErrConnectionClosed) {
				t.Errorf("err = %v; want the connection closed", err)
			}
			tm2 := dial(t, h.Addr())
			if c := rc(tm2.mustSend(tm2.sale(visa, 100))); c != "00" {
				t.Errorf("new connection answered %s", c)
			}
		})
	}
	t.Run("amount", func(t *testing.T) {
		tm := dial(t, h.Addr())
		add(Fault{Match: Match{ProcCode: "000000", PAN: mc}, Action: ActAmount, Amount: 9900})
		resp := tm.mustSend(tm.sale(mc, 10000))
		if f4, _ := resp.GetString(4); f4 != "000000009900" || rc(resp) != "00" {
			t.Errorf("field 4 = %s, 39 = %s", f4, rc(resp))
		}
	})
	t.Run("partial", func(t *testing.T) {
		tm := dial(t, h.Addr())
		add(Fault{Match: Match{Alias: "mc-debit"}, Action: ActPartial, Amount: 6000})
		f := tm.sale(mc, 10000)
		resp := tm.mustSend(f)
		f54, _ := resp.GetString(54)
		if rc(resp) != "10" || f54 != "000000006000" {
			t.Errorf("39 = %s, 54 = %s; want 10 and 60.00", rc(resp), f54)
		}
		if e, _, _ := h.Ledger().Lookup(ctx, keyOf(f)); e.Amount != 6000 {
			t.Errorf("journaled amount %d; want the approved 6000", e.Amount)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		// A raw socket: iso8583-connection may swallow the second answer
		// when it races with the first.
		add(Fault{Match: Match{MTI: "0200"}, Action: ActDuplicate})
		c, err := net.Dial("tcp", h.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tm := &terminal{t: t, stan: &stanSeq}
		f := tm.sale(visa, 100)
		m, _ := iso.NewMessage(f)
		packed, _ := m.Pack()
		c.Write(iso.Frame(packed))
		for i := 0; i < 2; i++ {
			if s, _ := readFrame(t, c).GetString(11); s != f.STAN {
				t.Errorf("answer %d has STAN %s", i+1, s)
			}
		}
	})
	t.Run("wrong STAN", func(t *testing.T) {
		tm, extra := dialStrays(t, h.Addr(), 300*time.Millisecond)
		add(Fault{Match: Match{MTI: "0200"}, Action: ActWrongSTAN})
		f := tm.sale(visa, 100)
		f.STAN = "000999"
		if _, err := tm.send(f); !errors.Is(err, connection.ErrSendTimeout) {
			t.Errorf("err = %v; want a timeout", err)
		}
		select {
		case m := <-extra:
			if s, _ := m.GetString(11); s != "001000" {
				t.Errorf("stray answer has STAN %s; want 001000", s)
			}
		case <-time.After(2 * time.Second):
			t.Error("stray answer never came")
		}
	})
	t.Run("garble", func(t *testing.T) {
		tm, _ := dialStrays(t, h.Addr(), 300*time.Millisecond)
		add(Fault{Match: Match{MTI: "0200"}, Action: ActGarble})
		if _, err := tm.send(tm.sale(visa, 100)); !errors.Is(err, connection.ErrSendTimeout) {
			t.Errorf("err = %v; want a timeout", err)
		}
		if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "00" {
			t.Errorf("next sale answered %s", c)
		}
	})
	t.Run("maintenance and sticky", func(t *testing.T) {
		tm := dial(t, h.Addr())
		id, _ := h.Faults().Add(Fault{Match: Match{MTI: "0200"}, Action: ActMaintenance, Sticky: true})
		for i := 0; i < 2; i++ {
			if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "91" {
				t.Errorf("sale %d answered %s", i, c)
			}
		}
		if l := h.Faults().List(); len(l) != 1 || l[0].Hits != 2 {
			t.Errorf("list = %+v", l)
		}
		if !h.Faults().Remove(id) {
			t.Error("Remove found nothing")
		}
		if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "00" {
			t.Errorf("after removal answered %s", c)
		}
	})
	if _, err := h.Faults().Add(Fault{Action: "explode"}); err == nil {
		t.Error("unknown action accepted")
	}
	h.Faults().Clear()
}

func TestMaintenanceRefuse(t *testing.T) {
	h := startHost(t, nil)
	tm := dial(t, h.Addr())
	tm.mustSend(tm.sale(visa, 100))
	h.SetMaintenance(MaintenanceRefuse)
	if _, err := tm.send(tm.sale(visa, 100)); err == nil {
		t.Error("open connection still served in refuse mode")
	}
	c, err := connection.New(h.Addr(), iso.Spec87, iso.ReadLength, iso.WriteLength,
		connection.SetRequestIDGenerator(tidSTAN{}), connection.SendTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(); err == nil {
		m, _ := iso.NewMessage(tm.sale(visa, 100))
		if _, err := c.Send(m); err == nil {
			t.Error("new connection served in refuse mode")
		}
		c.Close()
	}
	h.SetMaintenance(MaintenanceOff)
	tm2 := dial(t, h.Addr())
	if c := rc(tm2.mustSend(tm2.sale(visa, 100))); c != "00" {
		t.Errorf("after maintenance answered %s", c)
	}
}

func TestParseFaults(t *testing.T) {
	dir := t.TempDir()
	good := `faults:
  - name: decline big sales
    match: {mti: "0200", alias: visa-credit, amount: "100.00", nth: 2}
    action: respond
    code: "51"
    sticky: true
  - name: slow
    match: {tid: TERM0001}
    action: delay
    delay: 1.5s
`
	p := filepath.Join(dir, "faults.yaml")
	os.WriteFile(p, []byte(good), 0o644)
	fs, err := LoadFaults(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || *fs[0].Match.Amount != 10000 || fs[0].Match.Nth != 2 || !fs[0].Sticky || fs[1].Delay != 1500*time.Millisecond {
		t.Errorf("parsed %+v", fs)
	}
	js := `[{"action": "drop", "match": {"mti": "0200"}}, {"action": "partial", "amount": "60.00"}]`
	if fs, err := ParseFaults([]byte(js), "f.json"); err != nil || len(fs) != 2 || fs[1].Amount != 6000 {
		t.Errorf("json: %+v %v", fs, err)
	}
	for _, c := range []struct{ body, where string }{
		{"faults:\n  - action: respond\n    code: \"51\"\n    colour: red\n", "bad.yaml:4"},
		{"faults:\n  - action: teleport\n", "bad.yaml:2"},
		{"faults:\n  - action: delay\n    delay: soon\n", "bad.yaml:3"},
		{"faults:\n  - action: drop\n    match: {amount: lots}\n", "bad.yaml:3"},
		{"faults: [\n", "bad.yaml"},
	} {
		_, err := ParseFaults([]byte(c.body), "bad.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), c.where) {
			t.Errorf("%q: err = %v; want it to start with %s", c.body, err, c.where)
		}
	}
}
