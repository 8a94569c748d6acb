package iso

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// capture is a tshark capture on loopback. tshark prints "Capturing on"
// before packets really flow (packets sent right after it are lost), so
// readiness is proven instead: a UDP marker is sent until tshark reports
// capturing it. A second marker before stopping proves that every
// earlier packet has been seen.
type capture struct {
	cmd     *exec.Cmd
	probe   *net.UDPConn
	packets chan string // udp.length per captured packet, "" for TCP
	mu      sync.Mutex
	log     bytes.Buffer
	readers sync.WaitGroup
}

func startCapture(ctx context.Context, tshark string, port int, out string) (*capture, error) {
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	filter := fmt.Sprintf("tcp port %d or udp port %d", port, probe.LocalAddr().(*net.UDPAddr).Port)
	c := &capture{probe: probe, packets: make(chan string, 1024)}
	c.cmd = exec.CommandContext(ctx, tshark, "-i", "lo", "-f", filter, "-w", out,
		"-P", "-l", "-T", "fields", "-e", "udp.length")
	// SIGTERM rather than SIGINT: shells start background jobs with SIGINT
	// ignored, and tshark closes the file cleanly on either.
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(syscall.SIGTERM) }
	c.cmd.WaitDelay = 10 * time.Second
	if err := c.start(); err != nil {
		probe.Close()
		return nil, err
	}
	if err := c.mark(ctx, "possim-start"); err != nil {
		c.cmd.Process.Kill()
		return nil, errors.Join(err, c.wait())
	}
	return c, nil
}

func (c *capture) start() error {
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := c.cmd.Start(); err != nil {
		return err
	}
	c.readers.Add(2)
	go c.readPackets(bufio.NewScanner(stdout))
	go c.readLog(bufio.NewScanner(stderr))
	return nil
}

func (c *capture) readPackets(sc *bufio.Scanner) {
	defer c.readers.Done()
	defer close(c.packets)
	for sc.Scan() {
		c.packets <- strings.TrimSpace(sc.Text())
	}
}

func (c *capture) readLog(sc *bufio.Scanner) {
	defer c.readers.Done()
	for sc.Scan() {
		c.mu.Lock()
		c.log.WriteString(sc.Text() + "\n")
		c.mu.Unlock()
	}
}

// mark sends a UDP datagram as long as the marker until tshark reports
// capturing one. tshark is an outside process: resending on a ticker is
// the only way to learn when its capture is live.
func (c *capture) mark(ctx context.Context, marker string) error {
	want := strconv.Itoa(len(marker) + 8) // plus the UDP header
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	resend := time.NewTicker(100 * time.Millisecond)
	defer resend.Stop()
	for {
		if _, err := c.probe.WriteTo([]byte(marker), c.probe.LocalAddr()); err != nil {
			return fmt.Errorf("sending capture marker: %w", err)
		}
		for waiting := true; waiting; {
			select {
			case p, ok := <-c.packets:
				if !ok {
					return errors.New("tshark ended before capturing")
				}
				if p == want {
					return nil
				}
			case <-resend.C:
				waiting = false
			case <-deadline.C:
				return fmt.Errorf("tshark did not capture the %q marker within 20s", marker)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// stop waits until tshark has seen everything sent so far, then ends it.
func (c *capture) stop(ctx context.Context) error {
	err := c.mark(ctx, "possim-stop")
	c.cmd.Process.Signal(syscall.SIGTERM)
	return errors.Join(err, c.wait())
}

func (c *capture) wait() error {
	go func() {
		for range c.packets {
		}
	}()
	c.readers.Wait()
	err := c.cmd.Wait()
	c.probe.Close()
	var ee *exec.ExitError
	if errors.As(err, &ee) && !ee.Exited() {
		err = nil // ended by our signal
	}
	if err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Errorf("tshark: %w: %s", err, strings.TrimSpace(c.log.String()))
	}
	return nil
}

// tsharkArgs decodes a capture with Wireshark's ISO 8583 dissector on
// the host port, length header big-endian; the dissector's other
// preferences stay at their defaults (ASCII digits, binary as hex
// characters), which is possim87. PDML rather than JSON: it keeps each
// field's position in the captured bytes, which 86-89 need.
func tsharkArgs(pcap string, port int, prefs ...string) []string {
	args := []string{"-r", pcap,
		"-d", fmt.Sprintf("tcp.port==%d,iso8583", port),
		"-o", "iso8583.len_endian:Big endian"}
	for _, p := range prefs {
		args = append(args, "-o", p)
	}
	return append(args, "-T", "pdml")
}

// n16Misread lists the fields Wireshark's ISO 8583-1987 table gets wrong
// for what we send: it reads 86-89 (credits/debits amounts) as n15, but
// ISO 8583:1987 defines them n16 (Wireshark's own 1993 table, jPOS's
// ISO87APackager and moov's Spec87 agree). These are read at n16 from
// the captured bytes where the dissector says the field begins, one byte
// later for each misread field before it: the first 15 digits are the
// dissector's own reading, the 16th is the byte after. Should Wireshark
// fix its table, its 16-digit value is taken as it is.
var n16Misread = map[int]bool{86: true, 87: true, 88: true, 89: true}

// dissection is what the dissector made of one message.
type dissection struct {
	view  wireView
	notes []string // where the view departs from the dissector's reading
}

// dissect decodes the capture with Wireshark's ISO 8583 dissector and
// returns one view per message found.
// prefs are more dissector preferences (name:value), for other dialects.
func dissect(ctx context.Context, tshark, pcap string, port int, prefs ...string) ([]dissection, error) {
	cmd := exec.CommandContext(ctx, tshark, tsharkArgs(pcap, port, prefs...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark -r: %w: %s", err, stderr.String())
	}
	var doc pdml
	if err := xml.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("reading PDML: %w", err)
	}
	var ds []dissection
	for _, p := range doc.Packets {
		for _, proto := range p.Protos {
			switch proto.Name {
			case "_ws.malformed":
				return nil, fmt.Errorf("frame %s: malformed packet", p.frame())
			case "iso8583":
				d, err := p.dissection(proto)
				if err != nil {
					return nil, fmt.Errorf("frame %s: %w", p.frame(), err)
				}
				ds = append(ds, d)
			}
		}
	}
	return ds, nil
}

func (p pdmlPacket) dissection(proto pdmlProto) (dissection, error) {
	d := dissection{view: wireView{}}
	at := map[int]pdmlField{}
	var walk func([]pdmlField) error
	walk = func(fs []pdmlField) error {
		for _, f := range fs {
			name, ok := strings.CutPrefix(f.Name, "iso8583.")
			switch {
			case name == "MALFORMED":
				return fmt.Errorf("dissector marks %s MALFORMED after %v", d.view["mti"], d.view)
			case ok && strings.HasPrefix(name, "bit"):
				bit, err := strconv.Atoi(name[3:])
				if err != nil {
					return fmt.Errorf("field %s: %w", f.Name, err)
				}
				at[bit] = f
				d.view[name] = f.Show
			case ok && name != "len":
				d.view[name] = f.Show
			}
			if err := walk(f.Fields); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(proto.Fields); err != nil {
		return d, err
	}
	bits := make([]int, 0, len(at))
	for b := range at {
		bits = append(bits, b)
	}
	sort.Ints(bits)
	shift := 0
	for _, b := range bits {
		f := at[b]
		if shift > 0 && !n16Misread[b] {
			// The dissector's value for b is misaligned and the diff will
			// show it; possim87 sends nothing after 86-89 today.
			d.notes = append(d.notes, fmt.Sprintf("field %d follows a field the dissector reads at n15", b))
			continue
		}
		if !n16Misread[b] || len(f.Show) != 15 {
			continue
		}
		raw, err := p.bytesAt(proto.Pos, f.Pos+shift, 16)
		if err != nil {
			d.notes = append(d.notes, fmt.Sprintf("field %d: %v", b, err))
			continue
		}
		d.view["bit"+strconv.Itoa(b)] = string(raw)
		d.notes = append(d.notes, fmt.Sprintf("field %d read at ISO 8583:1987 n16 where the dissector reads n15", b))
		shift++
	}
	return d, nil
}

// bytesAt returns captured bytes at a dissector position. An ISO 8583
// PDU split over segments sits in TCP's reassembled data, positions
// counted from its start; one in a single segment sits in the frame,
// where the TCP payload begins at its own position.
func (p pdmlPacket) bytesAt(pduPos, pos, n int) ([]byte, error) {
	base, data := -1, ""
	for _, proto := range p.Protos {
		proto.walk(func(f pdmlField) {
			switch {
			case f.Name == "tcp.reassembled.data":
				base, data = 0, f.Value
			case f.Name == "tcp.payload" && base < 0:
				base, data = f.Pos, f.Value
			}
		})
	}
	raw, err := hex.DecodeString(data)
	if err != nil || base < 0 || pduPos < base {
		return nil, fmt.Errorf("captured bytes of the message not found in PDML")
	}
	if pos-base+n > len(raw) {
		return nil, fmt.Errorf("captured message ends before position %d+%d", pos, n)
	}
	return raw[pos-base : pos-base+n], nil
}

type pdml struct {
	Packets []pdmlPacket `xml:"packet"`
}

type pdmlPacket struct {
	Protos []pdmlProto `xml:"proto"`
}

func (p pdmlPacket) frame() string {
	for _, proto := range p.Protos {
		for _, f := range proto.Fields {
			if proto.Name == "geninfo" && f.Name == "num" {
				return f.Show
			}
		}
	}
	return "?"
}

type pdmlProto struct {
	Name   string      `xml:"name,attr"`
	Pos    int         `xml:"pos,attr"`
	Fields []pdmlField `xml:"field"`
}

func (p pdmlProto) walk(fn func(pdmlField)) {
	var rec func([]pdmlField)
	rec = func(fs []pdmlField) {
		for _, f := range fs {
			fn(f)
			rec(f.Fields)
		}
	}
	rec(p.Fields)
}

type pdmlField struct {
	Name   string      `xml:"name,attr"`
	Show   string      `xml:"show,attr"`
	Value  string      `xml:"value,attr"`
	Pos    int         `xml:"pos,attr"`
	Fields []pdmlField `xml:"field"`
}
