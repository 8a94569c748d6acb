package trace

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/possim/possim/simulators/iso"
)

// frame is a packed, length-framed 0800 or 0810 with the given STAN.
func frame(t testing.TB, mti, stan string) []byte {
	t.Helper()
	n := iso.Network{MTI: mti, TransmissionDT: "1130120000", STAN: stan, TerminalID: "TERM0001",
		MerchantID: "123456789012345", NetworkCode: iso.NetEcho}
	if mti == "0810" {
		n.ResponseCode = "00"
	}
	m, err := iso.NewMessage(&n)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return iso.Frame(b)
}

// capBuilder writes a pcap of one connection between a terminal on
// 127.0.0.1:40000 and a host on 127.0.0.1:8583, segment by segment.
type capBuilder struct {
	t          testing.TB
	buf        bytes.Buffer
	w          *pcapgo.Writer
	at         time.Time
	cSeq, sSeq uint32 // next sequence number of each side
}

func newCap(t testing.TB) *capBuilder {
	c := &capBuilder{t: t, at: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), cSeq: 1000, sSeq: 5000}
	c.w = pcapgo.NewWriter(&c.buf)
	if err := c.w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake writes SYN, SYN-ACK, ACK.
func (c *capBuilder) handshake() {
	c.packet(true, c.cSeq, nil, func(tcp *layers.TCP) { tcp.SYN = true; tcp.ACK = false })
	c.packet(false, c.sSeq, nil, func(tcp *layers.TCP) { tcp.SYN = true })
	c.cSeq++
	c.sSeq++
	c.packet(true, c.cSeq, nil, nil)
}

// send writes payload from one side at that side's next sequence number
// and advances it.
func (c *capBuilder) send(client bool, payload []byte) {
	seq := &c.sSeq
	if client {
		seq = &c.cSeq
	}
	c.packet(client, *seq, payload, nil)
	*seq += uint32(len(payload))
}

func (c *capBuilder) packet(client bool, seq uint32, payload []byte, edit func(*layers.TCP)) {
	c.t.Helper()
	c.at = c.at.Add(time.Millisecond)
	src, dst := []byte{127, 0, 0, 1}, []byte{127, 0, 0, 1}
	sport, dport := layers.TCPPort(40000), layers.TCPPort(8583)
	ack := c.sSeq
	if !client {
		sport, dport, ack = dport, sport, c.cSeq
	}
	eth := &layers.Ethernet{SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
	tcp := &layers.TCP{SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, ACK: true, PSH: len(payload) > 0, Window: 65535}
	if edit != nil {
		edit(tcp)
	}
	tcp.SetNetworkLayerForChecksum(ip)
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		c.t.Fatal(err)
	}
	b := sb.Bytes()
	if err := c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.at, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *capBuilder) read(opts Options) *Trace {
	c.t.Helper()
	tr, err := Read(bytes.NewReader(c.buf.Bytes()), opts)
	if err != nil {
		c.t.Fatal(err)
	}
	return tr
}

func mtis(tr *Trace) string {
	var out []string
	for _, m := range tr.Messages {
		switch {
		case m.Kind == KindEvent:
			out = append(out, "event")
		case m.Malformed != "":
			out = append(out, "malformed")
		default:
			out = append(out, m.Dir+" "+m.MTI+" "+m.Field(11))
		}
	}
	return strings.Join(out, ", ")
}

func TestTCPReassembly(t *testing.T) {
	req1, req2 := frame(t, "0800", "000001"), frame(t, "0800", "000002")
	resp1, resp2 := frame(t, "0810", "000001"), frame(t, "0810", "000002")
	tests := []struct {
		name  string
		write func(c *capBuilder)
		want  string
	}{
		{"one message in 3 segments", func(c *capBuilder) {
			c.send(true, req1[:1]) // half the length header
			c.send(true, req1[1:30])
			c.send(true, req1[30:])
			c.send(false, resp1)
		}, "in 0800 000001, out 0810 000001"},
		{"two messages in one segment", func(c *capBuilder) {
			c.send(true, append(append([]byte{}, req1...), req2...))
			c.send(false, append(append([]byte{}, resp1...), resp2[:10]...))
			c.send(false, resp2[10:])
		}, "in 0800 000001, in 0800 000002, out 0810 000001, out 0810 000002"},
		{"retransmitted segment", func(c *capBuilder) {
			seq := c.cSeq
			c.send(true, req1)
			c.packet(true, seq, req1, nil) // the same bytes again
			c.send(false, resp1)
		}, "in 0800 000001, out 0810 000001"},
		{"segments out of order", func(c *capBuilder) {
			first := c.cSeq
			c.cSeq += 20
			c.send(true, req1[20:]) // the second half first
			c.packet(true, first, req1[:20], nil)
			c.send(false, resp1)
		}, "in 0800 000001, out 0810 000001"},
		{"non-ISO traffic on the port", func(c *capBuilder) {
			c.send(true, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			c.send(true, req1)
		}, "malformed, in 0800 000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCap(t)
			c.handshake()
			tt.write(c)
			tr := c.read(Options{})
			if got := mtis(tr); got != tt.want {
				t.Errorf("decoded %s; want %s", got, tt.want)
			}
			if len(tr.Problems)+len(tr.Gaps) > 0 {
				t.Errorf("problems %v gaps %v", tr.Problems, tr.Gaps)
			}
			for _, m := range tr.Messages {
				if m.Malformed != "" && (m.Length != 27 || string(m.Head) != "GET / HTTP/1.1\r\n") {
					t.Errorf("malformed %d bytes head %q; want 27 bytes, the first 16 shown", m.Length, m.Head)
				}
			}
			if tr.HostPort != 8583 {
				t.Errorf("host port %d; want 8583", tr.HostPort)
			}
		})
	}
}

// A segment the capture missed is a gap, reported with the connection and
// stream position; the messages after it are still decoded.
func TestTCPGap(t *testing.T) {
	req1, req2, req3 := frame(t, "0800", "000001"), frame(t, "0800", "000002"), frame(t, "0800", "000003")
	c := newCap(t)
	c.handshake()
	c.send(true, req1)
	c.cSeq += uint32(len(req2)) // req2 was never captured
	c.send(true, req3)
	tr := c.read(Options{})
	if got, want := mtis(tr), "in 0800 000001, event, in 0800 000003"; got != want {
		t.Errorf("decoded %s; want %s", got, want)
	}
	if len(tr.Gaps) != 1 || !strings.Contains(tr.Gaps[0].Error(), "127.0.0.1:40000-127.0.0.1:8583 at stream byte ") ||
		!strings.Contains(tr.Gaps[0].Error(), "missing") {
		t.Errorf("gaps %v; want one naming the connection and position", tr.Gaps)
	}
}

// A capture cut inside a packet keeps what came before and names the
// packet.
func TestTruncatedCapture(t *testing.T) {
	c := newCap(t)
	c.handshake()
	c.send(true, frame(t, "0800", "000001"))
	c.send(false, frame(t, "0810", "000001"))
	c.send(true, frame(t, "0800", "000002"))
	b := c.buf.Bytes()
	tr, err := Read(bytes.NewReader(b[:len(b)-10]), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mtis(tr), "in 0800 000001, out 0810 000001"; got != want {
		t.Errorf("decoded %s; want %s", got, want)
	}
	if len(tr.Problems) != 1 || tr.Problems[0].Where != "packet 6" {
		t.Errorf("problems %v; want one at packet 6", tr.Problems)
	}
}

// --port picks the host side even against the handshake, and connections
// on other ports are left out.
func TestPortOption(t *testing.T) {
	c := newCap(t)
	c.handshake()
	c.send(true, frame(t, "0800", "000001"))
	if tr := c.read(Options{Port: 40000}); mtis(tr) != "out 0800 000001" || tr.HostBy != "--port" {
		t.Errorf("--port 40000: %s by %s; want out 0800 000001 by --port", mtis(tr), tr.HostBy)
	}
	if tr := c.read(Options{Port: 9999}); len(tr.Messages) != 0 {
		t.Errorf("--port 9999: %s; want nothing", mtis(tr))
	}
}

// Without the handshake in the capture, the host is the side that
// answered; with no answer either, the lower port.
func TestHostSideGuess(t *testing.T) {
	c := newCap(t)
	c.send(false, frame(t, "0810", "000001")) // the capture starts after the request
	if tr := c.read(Options{}); tr.HostPort != 8583 || tr.HostBy != "answered with a response MTI" || mtis(tr) != "out 0810 000001" {
		t.Errorf("host %d by %q, %s; want 8583 by answered, out 0810", tr.HostPort, tr.HostBy, mtis(tr))
	}
	c = newCap(t)
	c.send(true, frame(t, "0800", "000001"))
	if tr := c.read(Options{}); tr.HostPort != 8583 || tr.HostBy != "lower port" || mtis(tr) != "in 0800 000001 unanswered" && mtis(tr) != "in 0800 000001" {
		t.Errorf("host %d by %q, %s; want 8583 by lower port, in 0800", tr.HostPort, tr.HostBy, mtis(tr))
	}
}
