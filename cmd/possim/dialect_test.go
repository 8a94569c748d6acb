package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/possim/possim/simulators/iso"
)

// tap is a TCP proxy that keeps every byte each way: the traffic the
// independent decoder reads.
type tap struct {
	ln       net.Listener
	mu       sync.Mutex
	up, down bytes.Buffer // terminal to host, host to terminal
	wg       sync.WaitGroup
}

func startTap(t *testing.T, target string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tap{ln: ln}
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
			p.wg.Add(2)
			go p.copy(h, c, &p.up)
			go p.copy(c, h, &p.down)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// copy forwards whole frames only, so the kept bytes of one direction
// never interleave two connections' halves of a frame.
func (p *tap) copy(dst, src net.Conn, keep *bytes.Buffer) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			keep.Write(buf[:n])
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *tap) streams() (up, down []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.up.Bytes()), bytes.Clone(p.down.Bytes())
}

// dropTwo is a fault file that drops the answer to the sale of 2.00.
const dropTwo = "faults:\n  - name: lost answer\n    match: {mti: \"0200\", amount: \"2.00\"}\n    action: drop\n"

// startDialectHost runs possim host --dialect d with the given fault file
// content, and returns its address.
func startDialectHost(t *testing.T, dialect, faultFile string) string {
	t.Helper()
	dir := t.TempDir()
	faults := filepath.Join(dir, "faults.yaml")
	if err := os.WriteFile(faults, []byte(faultFile), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"host", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "host.db"),
			"--dialect", dialect, "--faults", faults}, &Env{Stdout: pw, Stderr: &stderr, Getenv: os.Getenv})
		pw.Close()
	}()
	addr := hostListenLine(t, pr)
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("possim host --dialect %s: exit %d\n%s", dialect, code, stderr.String())
		}
	})
	return addr
}

// TestTerminalHostDialects runs possim terminal against possim host over
// loopback in each TPDU dialect: a chip sale, a sale whose answer the host
// drops (the terminal times out and reverses), and settlement. The
// captured bytes are then read by an independent decoder written from the
// byte layout of docs/dialects.md, which must agree with the codec.
func TestTerminalHostDialects(t *testing.T) {
	for _, name := range []string{"nac", "cup"} {
		t.Run(name, func(t *testing.T) {
			p := startTap(t, startDialectHost(t, name, dropTwo))
			host := p.ln.Addr().String()
			state := filepath.Join(t.TempDir(), "term.json")
			run := func(args ...string) (int, string) {
				return termCLI(t, host, state, append([]string{"--dialect", name}, args...)...)
			}
			if code, out := run("sale", "--amount", "1.00", "--card", "visa-credit", "--entry", "chip", "--pin", "1234"); code != 0 || !strings.Contains(out, "SALE approved") {
				t.Fatalf("chip sale: exit %d\n%s", code, out)
			}
			code, out := run("--json", "sale", "--amount", "2.00", "--card", "visa-credit", "--entry", "chip", "--pin", "1234")
			if code == 0 || !strings.Contains(strings.ToLower(out), "revers") {
				t.Fatalf("dropped sale: exit %d, want a failure and a reversal\n%s", code, out)
			}
			code, out = run("--json", "settle")
			var st struct {
				OK     bool            `json:"ok"`
				Settle *termSettleJSON `json:"settle"`
			}
			if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || !st.OK || !st.Settle.Balanced {
				t.Fatalf("settle: exit %d %v\n%s", code, err, out)
			}
			if st.Settle.Totals.SalesCount != 1 {
				t.Errorf("settled %d sales, want 1 (the dropped one reversed)", st.Settle.Totals.SalesCount)
			}
			up, down := p.streams()
			t.Logf("%s: %d bytes up, %d down; first frame % x", name, len(up), len(down), up[:min(len(up), 40)])
			seen := checkIndependent(t, name, up, down)
			for _, mti := range []string{"0800", "0810", "0200", "0210", "0400", "0410", "0500", "0510"} {
				if !seen[mti] {
					t.Errorf("no %s in the captured traffic (saw %v)", mti, seen)
				}
			}
		})
	}
}

// checkIndependent splits both streams into frames and decodes each
// twice, with the codec and with indepDecode, and compares field by field.
func checkIndependent(t *testing.T, name string, up, down []byte) map[string]bool {
	t.Helper()
	d, err := iso.LoadDialect(name)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for dir, stream := range map[string][]byte{"terminal to host": up, "host to terminal": down} {
		r := bytes.NewReader(stream)
		for r.Len() > 0 {
			at := len(stream) - r.Len()
			env, body, off, err := d.ReadFrame(r)
			if err != nil {
				t.Fatalf("%s: frame at byte %d: %v", dir, at, err)
			}
			m, err := d.Unpack(body, off)
			if err != nil {
				t.Fatalf("%s: frame at byte %d: %v", dir, at, err)
			}
			frame := stream[at : at+off+len(body)]
			got, err := indepDecode(frame, name == "cup")
			if err != nil {
				t.Fatalf("%s: independent decoder, frame at byte %d: %v\n% x", dir, at, err, frame)
			}
			if !bytes.Equal(got.tpdu, env.TPDU) || !bytes.Equal(got.header, env.Header) {
				t.Errorf("%s: envelope: independent % x | % x, codec % x | % x", dir, got.tpdu, got.header, env.TPDU, env.Header)
			}
			mti, _ := m.GetMTI()
			seen[mti] = true
			if got.fields[0] != mti {
				t.Errorf("%s: MTI: independent %s, codec %s", dir, got.fields[0], mti)
			}
			wantTPDU := "6000030000"
			if name == "nac" {
				wantTPDU = "6000010000"
			}
			if mti[2]%2 == 1 { // an answer: destination and source swapped
				wantTPDU = wantTPDU[:2] + wantTPDU[6:] + wantTPDU[2:6]
			}
			if hex.EncodeToString(env.TPDU) != wantTPDU {
				t.Errorf("%s %s: TPDU %x, want %s", dir, mti, env.TPDU, wantTPDU)
			}
			for id, f := range m.GetFields() {
				if id < 2 {
					continue
				}
				var want string
				if b, ok := indepBinary[id]; ok && b {
					raw, _ := f.Bytes()
					want = hex.EncodeToString(raw)
				} else {
					want, _ = f.String()
				}
				if id == 74 || id == 76 || id == 86 || id == 88 {
					// counts and amounts: the codec keeps the number
					want = fmt.Sprintf("%0*s", indepTable[id].len, want)
				}
				if got.fields[id] != want {
					t.Errorf("%s %s field %d: independent %q, codec %q", dir, mti, id, got.fields[id], want)
				}
				delete(got.fields, id)
			}
			delete(got.fields, 0)
			for id, v := range got.fields {
				t.Errorf("%s %s: field %d = %q only the independent decoder found", dir, mti, id, v)
			}
		}
	}
	return seen
}

// indepField is one row of the field table of docs/dialects.md.
type indepField struct {
	kind string // n (BCD), an (ASCII), b and B (bytes), z (track 2 BCD)
	len  int    // fixed length, or the maximum
	ll   int    // length digits (BCD) in front, 0 for fixed
}

// indepTable is the nac/cup field table as docs/dialects.md prints it.
var indepTable = map[int]indepField{
	2: {"n", 19, 2}, 3: {"n", 6, 0}, 4: {"n", 12, 0}, 7: {"n", 10, 0}, 11: {"n", 6, 0}, 12: {"n", 6, 0},
	13: {"n", 4, 0}, 14: {"n", 4, 0}, 22: {"n", 3, 0}, 23: {"n", 3, 0}, 25: {"n", 2, 0}, 35: {"z", 37, 2},
	37: {"an", 12, 0}, 38: {"an", 6, 0}, 39: {"an", 2, 0}, 41: {"an", 8, 0}, 42: {"an", 15, 0},
	48: {"an", 999, 3}, 49: {"an", 3, 0}, 52: {"b", 8, 0}, 54: {"an", 120, 3}, 55: {"b", 255, 3},
	60: {"an", 999, 3}, 62: {"an", 999, 3}, 63: {"an", 999, 3}, 64: {"b", 8, 0}, 70: {"n", 3, 0},
	74: {"n", 10, 0}, 76: {"n", 10, 0}, 86: {"n", 16, 0}, 88: {"n", 16, 0}, 90: {"n", 42, 0},
	95: {"an", 42, 0}, 128: {"b", 8, 0},
}

var indepBinary = map[int]bool{52: true, 55: true, 64: true, 128: true}

type indepMsg struct {
	tpdu, header []byte
	fields       map[int]string
}

// indepDecode reads one frame byte by byte: 2-byte big-endian length,
// TPDU (5), for cup the 6-byte header, MTI (2 BCD bytes), bitmap (8
// bytes, 16 with bit 1), then the fields in order.
func indepDecode(frame []byte, cup bool) (*indepMsg, error) {
	if len(frame) < 2 || int(frame[0])<<8|int(frame[1]) != len(frame)-2 {
		return nil, fmt.Errorf("length header does not match the frame")
	}
	p := 2
	take := func(n int) ([]byte, error) {
		if p+n > len(frame) {
			return nil, fmt.Errorf("field runs past the frame end at byte %d", p)
		}
		b := frame[p : p+n]
		p += n
		return b, nil
	}
	m := &indepMsg{fields: map[int]string{}}
	var err error
	if m.tpdu, err = take(5); err != nil {
		return nil, err
	}
	if cup {
		if m.header, err = take(6); err != nil {
			return nil, err
		}
	}
	nibbles := func(b []byte, digits int) string {
		s := hex.EncodeToString(b)
		return s[len(s)-digits:]
	}
	mti, err := take(2)
	if err != nil {
		return nil, err
	}
	m.fields[0] = hex.EncodeToString(mti)
	bm, err := take(8)
	if err != nil {
		return nil, err
	}
	if bm[0]&0x80 != 0 {
		more, err := take(8)
		if err != nil {
			return nil, err
		}
		bm = append(bytes.Clone(bm), more...)
	}
	for id := 2; id <= len(bm)*8; id++ {
		if bm[(id-1)/8]&(0x80>>((id-1)%8)) == 0 {
			continue
		}
		f, ok := indepTable[id]
		if cup && id == 62 {
			f = indepField{"B", 512, 3} // UnionPay: the session keys as bytes
		}
		if !ok {
			return nil, fmt.Errorf("field %d is not in the table", id)
		}
		n := f.len
		if f.ll > 0 {
			lb, err := take((f.ll + 1) / 2)
			if err != nil {
				return nil, err
			}
			if n, err = strconv.Atoi(hex.EncodeToString(lb)); err != nil {
				return nil, fmt.Errorf("field %d: length % x is not BCD", id, lb)
			}
		}
		switch f.kind {
		case "n":
			b, err := take((n + 1) / 2)
			if err != nil {
				return nil, err
			}
			m.fields[id] = nibbles(b, n)
		case "z":
			b, err := take((n + 1) / 2)
			if err != nil {
				return nil, err
			}
			m.fields[id] = strings.ReplaceAll(hex.EncodeToString(b)[:n], "d", "=")
		case "an":
			b, err := take(n)
			if err != nil {
				return nil, err
			}
			m.fields[id] = string(b)
		case "b":
			b, err := take(n)
			if err != nil {
				return nil, err
			}
			m.fields[id] = hex.EncodeToString(b)
		case "B": // bytes the codec keeps as upper-case hex text
			b, err := take(n)
			if err != nil {
				return nil, err
			}
			m.fields[id] = strings.ToUpper(hex.EncodeToString(b))
		}
	}
	if p != len(frame) {
		return nil, fmt.Errorf("%d bytes after the last field", len(frame)-p)
	}
	return m, nil
}

// TestLoadDialect: possim load speaks the host's dialect; every request
// of a short run is answered and none fails on the wire.
func TestLoadDialect(t *testing.T) {
	host := startDialectHost(t, "cup", "faults: []\n")
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"load", "--host", host, "--dialect", "cup", "--conns", "2", "--count", "40", "--json"},
		&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	var rep struct {
		Requests int64 `json:"requests"`
		Errors   int64 `json:"errors"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || code != 0 {
		t.Fatalf("possim load --dialect cup: exit %d %v\n%s%s", code, err, out.String(), errb.String())
	}
	if rep.Requests < 40 || rep.Errors != 0 {
		t.Errorf("load over cup: %d requests, %d errors\n%s", rep.Requests, rep.Errors, out.String())
	}
}
