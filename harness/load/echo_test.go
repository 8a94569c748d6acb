package load

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/possim/possim/simulators/iso"
)

// TestEchoDialect: the echo host reads and answers in its dialect, the
// answer's TPDU addressed back (destination and source swapped) and its
// application header repeated, as a host answers.
func TestEchoDialect(t *testing.T) {
	for _, name := range []string{"possim87", "nac", "cup"} {
		t.Run(name, func(t *testing.T) {
			d, err := iso.LoadDialect(name)
			if err != nil {
				t.Fatal(err)
			}
			e, err := StartEcho("127.0.0.1:0", d, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			c, err := net.Dial("tcp", e.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := d.NewMessage()
			req.MTI("0200")
			for id, v := range map[int]string{3: "000000", 4: "000000000900", 11: "000042", 41: "TERM0001"} {
				if err := req.Field(id, v); err != nil {
					t.Fatal(err)
				}
			}
			packed, err := req.Pack()
			if err != nil {
				t.Fatal(err)
			}
			env := iso.Envelope{}
			if d.Framing.TPDU != nil {
				env.TPDU = []byte{0x60, 0x00, 0x07, 0x00, 0x09}
			}
			frame, err := d.AppendFrame(nil, env, packed)
			if err != nil {
				t.Fatal(err)
			}
			// Twice: the connection keeps answering.
			for range 2 {
				if _, err := c.Write(frame); err != nil {
					t.Fatal(err)
				}
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang, not a timing assertion
				got, body, off, err := d.ReadFrame(c)
				if err != nil {
					t.Fatalf("reading the answer: %v", err)
				}
				if d.Framing.TPDU != nil && !bytes.Equal(got.TPDU, []byte{0x60, 0x00, 0x09, 0x00, 0x07}) {
					t.Errorf("answer TPDU % x, want 60 0009 0007 (addresses swapped)", got.TPDU)
				}
				if len(got.Header) != len(d.Framing.Header) {
					t.Errorf("answer header % x, want one like % x", got.Header, d.Framing.Header)
				}
				m, err := d.Unpack(body, off)
				if err != nil {
					t.Fatalf("unpacking the answer: %v", err)
				}
				mti, _ := m.GetMTI()
				rc, _ := m.GetString(39)
				stan, _ := m.GetString(11)
				amount, _ := m.GetString(4)
				if mti != "0210" || rc != "00" || stan != "000042" || amount != "000000000900" {
					t.Errorf("answer %s 39=%s 11=%s 4=%s, want 0210 00 000042 000000000900", mti, rc, stan, amount)
				}
			}
		})
	}
}
