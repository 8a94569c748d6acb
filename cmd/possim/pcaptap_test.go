package main

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapTap is a TCP proxy that writes what passes as a pcapng capture:
// each connection opens with a SYN and a SYN-ACK, and every read becomes
// one TCP segment with the right sequence numbers, as tcpdump on the
// terminal's side would have it.
type pcapTap struct {
	ln   net.Listener
	path string
	mu   sync.Mutex // guards w and f
	f    *os.File
	w    *pcapgo.NgWriter
	wg   sync.WaitGroup
	// shape, when set, cuts what one direction has read (held bytes
	// first) into the segments it goes out in; nil holds it back to go
	// with the next read, as a sender's coalescing does.
	shape func(up bool, data []byte) [][]byte
}

func startPcapTap(t *testing.T, target string) *pcapTap {
	t.Helper()
	return startShapingTap(t, target, nil)
}

// startShapingTap is startPcapTap with segments cut by shape.
func startShapingTap(t *testing.T, target string, shape func(up bool, data []byte) [][]byte) *pcapTap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pcapTap{ln: ln, path: filepath.Join(t.TempDir(), "capture.pcapng"), shape: shape}
	if p.f, err = os.Create(p.path); err != nil {
		t.Fatal(err)
	}
	if p.w, err = pcapgo.NewNgWriter(p.f, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			cport := layers.TCPPort(c.RemoteAddr().(*net.TCPAddr).Port)
			sport := layers.TCPPort(ln.Addr().(*net.TCPAddr).Port)
			up := &tcpHalf{src: cport, dst: sport, seq: 1000, up: true}
			down := &tcpHalf{src: sport, dst: cport, seq: 50000}
			p.segment(up, down, nil, true)
			p.segment(down, up, nil, true)
			p.wg.Add(2)
			go p.copy(h, c, up, down)
			go p.copy(c, h, down, up)
		}
	}()
	t.Cleanup(func() { p.close(t) })
	return p
}

// tcpHalf is one direction of a captured connection.
type tcpHalf struct {
	src, dst layers.TCPPort
	seq      uint32
	up       bool // the client's half
}

// segment writes one TCP segment of half h (a SYN when syn), h's peer
// being back.
func (p *pcapTap) segment(h, back *tcpHalf, data []byte, syn bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lo := net.IPv4(127, 0, 0, 1)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: lo, DstIP: lo}
	tcp := &layers.TCP{SrcPort: h.src, DstPort: h.dst, Seq: h.seq, Ack: back.seq, Window: 65535, SYN: syn,
		ACK: !syn || h.seq == 50000, PSH: len(data) > 0} // 50000: the server's ISN, so a SYN-ACK
	_ = tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(data)); err != nil {
		return
	}
	b := buf.Bytes()
	_ = p.w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(b), Length: len(b)}, b)
	h.seq += uint32(len(data))
	if syn {
		h.seq++
	}
}

func (p *pcapTap) copy(dst, src net.Conn, h, back *tcpHalf) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 4096)
	var held []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			segs := [][]byte{buf[:n]}
			if p.shape != nil {
				held = append(held, buf[:n]...)
				if segs = p.shape(h.up, held); segs == nil {
					continue
				}
				held = nil
			}
			for _, s := range segs {
				p.segment(h, back, s, false)
				if _, werr := dst.Write(s); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// close stops the tap and finishes the capture file; it can be called
// more than once.
func (p *pcapTap) close(t *testing.T) string {
	p.ln.Close()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil {
		if err := p.w.Flush(); err != nil {
			t.Error(err)
		}
		if err := p.f.Close(); err != nil {
			t.Error(err)
		}
		p.f = nil
	}
	return p.path
}
