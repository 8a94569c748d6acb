package trace

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/gopacket/gopacket/reassembly"
	"github.com/possim/possim/simulators/iso"
)

// packetSource is what pcapgo's pcap and pcapng readers have in common.
type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// readCapture reads a pcap or pcapng capture: every TCP connection
// reassembled, each direction cut into frames by the dialect's length
// header. A capture that ends inside a packet keeps what came before.
func readCapture(r io.Reader, f Format, opts Options) (*Trace, error) {
	var src packetSource
	linkType := func(gopacket.CaptureInfo) layers.LinkType { return layers.LinkTypeEthernet }
	switch f {
	case FormatPcap:
		pr, err := pcapgo.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading pcap header: %w", err)
		}
		lt := pr.LinkType()
		src, linkType = pr, func(gopacket.CaptureInfo) layers.LinkType { return lt }
	default:
		nr, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("reading pcapng header: %w", err)
		}
		src = nr
		linkType = func(ci gopacket.CaptureInfo) layers.LinkType {
			if i, err := nr.Interface(ci.InterfaceIndex); err == nil {
				return i.LinkType
			}
			return nr.LinkType()
		}
	}
	t := &Trace{Format: f}
	fac := &streamFactory{t: t, dialect: opts.Dialect, port: opts.Port, servers: map[string]int{}}
	asm := reassembly.NewAssembler(reassembly.NewStreamPool(fac))
	for n := 1; ; n++ {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Problems = append(t.Problems, Problem{Where: "packet " + strconv.Itoa(n),
				Err: fmt.Errorf("capture ends inside this packet (%w); the %d packets before it are decoded", err, n-1)})
			break
		}
		pkt := gopacket.NewPacket(data, linkType(ci), gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		nl := pkt.NetworkLayer()
		if tcp == nil || nl == nil {
			continue // not TCP: ARP, UDP, ...
		}
		if opts.Port != 0 && int(tcp.SrcPort) != opts.Port && int(tcp.DstPort) != opts.Port {
			continue
		}
		fac.noteServer(nl.NetworkFlow(), tcp)
		// The packet number rides along with the bytes, so a message can
		// say which packet completed it.
		ci.AncillaryData = append(ci.AncillaryData, packetNo(n))
		asm.AssembleWithContext(nl.NetworkFlow(), tcp, &packetContext{ci: ci})
	}
	asm.FlushAll()
	fac.finish()
	return t, nil
}

type packetContext struct{ ci gopacket.CaptureInfo }

type packetNo int

func (c *packetContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

// streamFactory makes one stream per TCP connection and remembers which
// side listened.
type streamFactory struct {
	t       *Trace
	dialect *iso.Dialect
	port    int
	servers map[string]int // connection key -> listening port, from SYN or SYN-ACK
	streams []*stream
}

// connKey names a connection the same way from both sides.
func connKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "-" + b
}

func endpoint(net gopacket.Flow, port layers.TCPPort, src bool) string {
	ip := net.Dst().String()
	if src {
		ip = net.Src().String()
	}
	if len(ip) > 0 && ip[0] != '[' && containsColon(ip) {
		ip = "[" + ip + "]"
	}
	return ip + ":" + strconv.Itoa(int(port))
}

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

func (f *streamFactory) noteServer(net gopacket.Flow, tcp *layers.TCP) {
	if !tcp.SYN {
		return
	}
	k := connKey(endpoint(net, tcp.SrcPort, true), endpoint(net, tcp.DstPort, false))
	if tcp.ACK {
		f.servers[k] = int(tcp.SrcPort)
	} else {
		f.servers[k] = int(tcp.DstPort)
	}
}

func (f *streamFactory) New(net, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	s := &stream{f: f,
		a: endpoint(net, tcp.SrcPort, true), aPort: int(tcp.SrcPort),
		b: endpoint(net, tcp.DstPort, false), bPort: int(tcp.DstPort)}
	f.streams = append(f.streams, s)
	return s
}

// finish decides each connection's host side, sets the directions and
// adds the messages to the trace.
func (f *streamFactory) finish() {
	for _, s := range f.streams {
		s.ackedUnseen()
		for i := range s.halves {
			s.halves[i].end(s)
		}
		if len(s.halves[0].msgs)+len(s.halves[1].msgs) == 0 {
			continue // a handshake or a FIN after the data: nothing to show
		}
		hostPort, by := f.hostSide(s)
		if f.t.HostPort == 0 || by == "--port" {
			f.t.HostPort, f.t.HostBy = hostPort, by
		}
		host, client := s.a, s.b
		if hostPort == s.bPort {
			host, client = s.b, s.a
		}
		for i := range s.halves {
			from := s.a
			if i == 1 {
				from = s.b
			}
			for _, m := range s.halves[i].msgs {
				m.Conn = client + "-" + host
				m.Dir = DirIn
				if from == host {
					m.Dir = DirOut
				}
				f.t.Messages = append(f.t.Messages, m)
			}
		}
	}
}

// hostSide says which port of s is the host's and how that was found:
// --port, who listened (SYN), who answered (an MTI whose third digit is
// odd, xx10), else the lower port.
func (f *streamFactory) hostSide(s *stream) (int, string) {
	if f.port != 0 {
		return f.port, "--port"
	}
	if p, ok := f.servers[connKey(s.a, s.b)]; ok {
		return p, "listened (SYN)"
	}
	for i, p := range [2]int{s.aPort, s.bPort} {
		for _, m := range s.halves[i].msgs {
			if len(m.MTI) == 4 && (m.MTI[2]-'0')%2 == 1 {
				return p, "answered with a response MTI"
			}
		}
	}
	return min(s.aPort, s.bPort), "lower port"
}

// stream is one TCP connection; halves[0] is a->b.
type stream struct {
	f            *streamFactory
	a, b         string
	aPort, bPort int
	halves       [2]half
	edges        [2]seqEdge
}

// seqEdge is how far one direction's sequence numbers reach: in the
// segments captured, and in the peer's acknowledgements of them.
type seqEdge struct {
	sent, acked       uint32
	haveSent, haveAck bool
	ackCI             gopacket.CaptureInfo // the packet acknowledging the most
}

func (s *stream) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	if nextSeq < 0 {
		*start = true // a capture that begins mid-connection starts where it begins
	}
	i := 0
	if dir == reassembly.TCPDirServerToClient {
		i = 1
	}
	end := tcp.Seq + uint32(len(tcp.Payload))
	if tcp.SYN || tcp.FIN {
		end++ // each takes one sequence number
	}
	if e := &s.edges[i]; !e.haveSent || int32(end-e.sent) > 0 {
		e.sent, e.haveSent = end, true
	}
	if p := &s.edges[1-i]; tcp.ACK && (!p.haveAck || int32(tcp.Ack-p.acked) > 0) {
		p.acked, p.haveAck, p.ackCI = tcp.Ack, true, ac.GetCaptureInfo()
	}
	return true
}

// ackedUnseen reports the bytes the peer acknowledged past the last
// segment captured of a direction: a segment the capture missed at the
// end of the connection, which no later segment shows as a gap. Without
// this the request is lost without a word and its answer looks
// unsolicited.
func (s *stream) ackedUnseen() {
	for i, e := range s.edges {
		if !e.haveSent || !e.haveAck {
			continue
		}
		if n := int32(e.acked - e.sent); n > 0 {
			s.halves[i].add(s, i, nil, int(n), func(int) gopacket.CaptureInfo { return e.ackCI })
		}
	}
}

func (s *stream) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	dir, _, _, skip := sg.Info()
	i := 0
	if dir == reassembly.TCPDirServerToClient {
		i = 1
	}
	avail, _ := sg.Lengths()
	s.halves[i].add(s, i, sg.Fetch(avail), skip, sg.CaptureInfo)
}

func (s *stream) ReassemblyComplete(ac reassembly.AssemblerContext) bool { return true }
