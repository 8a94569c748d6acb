package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
)

// indepHost is an ISO 8583 host written from the possim87 byte layout
// alone, without possim's codec or moov's, so that a capture of possim
// terminal talking to it tests the wire and not possim against itself.
// It signs on (a session key under the TMK in 62), approves sales,
// declines the declineCard 51, leaves a sale of silentAmount unanswered,
// and answers reversals and settlement 00.
type indepHost struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error  // what it could not read, checked by the test
	seen  []string // MTIs read, in order
	count int      // RRNs and approval codes
	quit  chan struct{}
}

const (
	silentAmount = "000000007770"     // a sale of 77.70 is never answered
	declineCard  = "5413330089010012" // mc-debit: 51
)

// wireField is how one field travels: fixed width, or an LL/LLL prefix
// of 2 or 3 ASCII digits counting the characters that follow.
type wireField struct {
	fixed  int
	prefix int
}

// wireFields holds only the fields possim terminal and this host use
// (ISO 8583:1987 in ASCII; 52 is 8 bytes as 16 hex characters; 55 counts
// hex characters).
var wireFields = map[int]wireField{
	2: {prefix: 2}, 3: {fixed: 6}, 4: {fixed: 12}, 7: {fixed: 10}, 11: {fixed: 6},
	12: {fixed: 6}, 13: {fixed: 4}, 14: {fixed: 4}, 22: {fixed: 3}, 23: {fixed: 3},
	25: {fixed: 2}, 35: {prefix: 2}, 37: {fixed: 12}, 38: {fixed: 6}, 39: {fixed: 2},
	41: {fixed: 8}, 42: {fixed: 15}, 48: {prefix: 3}, 49: {fixed: 3}, 52: {fixed: 16},
	53: {fixed: 16}, 54: {prefix: 3}, 55: {prefix: 3}, 60: {prefix: 3}, 62: {prefix: 3},
	63: {prefix: 3}, 70: {fixed: 3}, 74: {fixed: 10}, 76: {fixed: 10}, 86: {fixed: 16},
	88: {fixed: 16}, 90: {fixed: 42},
}

func startIndepHost(t *testing.T) *indepHost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &indepHost{ln: ln, quit: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.wg.Add(1)
			go h.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		close(h.quit)
		h.wg.Wait()
		for _, err := range h.errs {
			t.Errorf("independent host: %v", err)
		}
	})
	return h
}

func (h *indepHost) addr() string { return h.ln.Addr().String() }

func (h *indepHost) mtis() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

func (h *indepHost) serve(c net.Conn) {
	defer h.wg.Done()
	defer c.Close()
	go func() { <-h.quit; c.Close() }()
	for {
		var head [2]byte
		if _, err := io.ReadFull(c, head[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint16(head[:]))
		if _, err := io.ReadFull(c, body); err != nil {
			h.fail(fmt.Errorf("frame of %d bytes cut short: %w", len(body), err))
			return
		}
		mti, fields, err := parseIndep(body)
		if err != nil {
			h.fail(fmt.Errorf("frame of %d bytes: %w", len(body), err)) // not the bytes: they hold card data
			return
		}
		h.mu.Lock()
		h.seen = append(h.seen, mti)
		h.mu.Unlock()
		answer, ok, err := h.answer(mti, fields)
		if err != nil {
			h.fail(err)
			return
		}
		if !ok {
			continue
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(answer)))
		if _, err := c.Write(append(out, answer...)); err != nil {
			return
		}
	}
}

func (h *indepHost) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, err)
}

// parseIndep reads MTI, bitmap(s) and fields by the table.
func parseIndep(b []byte) (string, map[int]string, error) {
	if len(b) < 20 {
		return "", nil, errors.New("message shorter than MTI and bitmap")
	}
	mti := string(b[:4])
	bitmap, err := hex.DecodeString(string(b[4:20]))
	if err != nil {
		return "", nil, fmt.Errorf("primary bitmap: %w", err)
	}
	pos := 20
	if bitmap[0]&0x80 != 0 {
		if len(b) < 36 {
			return "", nil, errors.New("secondary bitmap cut short")
		}
		second, err := hex.DecodeString(string(b[20:36]))
		if err != nil {
			return "", nil, fmt.Errorf("secondary bitmap: %w", err)
		}
		bitmap, pos = append(bitmap, second...), 36
	}
	fields := map[int]string{}
	for n := 2; n <= 8*len(bitmap); n++ {
		if bitmap[(n-1)/8]&(0x80>>((n-1)%8)) == 0 {
			continue
		}
		f, ok := wireFields[n]
		if !ok {
			return "", nil, fmt.Errorf("%s: field %d is not in the table", mti, n)
		}
		size := f.fixed
		if f.prefix > 0 {
			if pos+f.prefix > len(b) {
				return "", nil, fmt.Errorf("%s: field %d: length cut short", mti, n)
			}
			if size, err = strconv.Atoi(string(b[pos : pos+f.prefix])); err != nil {
				return "", nil, fmt.Errorf("%s: field %d: length: %w", mti, n, err)
			}
			pos += f.prefix
		}
		if pos+size > len(b) {
			return "", nil, fmt.Errorf("%s: field %d: %d characters, %d left", mti, n, size, len(b)-pos)
		}
		fields[n], pos = string(b[pos:pos+size]), pos+size
	}
	if pos != len(b) {
		return "", nil, fmt.Errorf("%s: %d bytes after the last field", mti, len(b)-pos)
	}
	return mti, fields, nil
}

// answer builds the response to one request; ok is false for none.
func (h *indepHost) answer(mti string, req map[int]string) (msg []byte, ok bool, err error) {
	resp := map[int]string{}
	for _, n := range []int{3, 4, 7, 11, 12, 13, 22, 25, 41, 42, 49, 70, 90} {
		if v, ok := req[n]; ok {
			resp[n] = v
		}
	}
	h.mu.Lock()
	h.count++
	seq := h.count
	h.mu.Unlock()
	switch mti {
	case "0800":
		resp[39] = "00"
		if req[70] != "001" && req[70] != "101" {
			break // echo test, sign-off
		}
		key := make([]byte, 16)
		if _, err := rand.Read(key); err != nil {
			return nil, false, err
		}
		key = card.AdjustParity(key)
		enc, err := card.EncryptKey(profile.Default().Keys.TMK(), key)
		if err != nil {
			return nil, false, fmt.Errorf("wrapping the session key: %w", err)
		}
		kcv, err := card.KCV(key)
		if err != nil {
			return nil, false, err
		}
		resp[62] = strings.ToUpper(hex.EncodeToString(enc)) + kcv
	case "0200":
		if req[4] == silentAmount {
			return nil, false, nil
		}
		resp[37], resp[38], resp[39] = fmt.Sprintf("%012d", seq), fmt.Sprintf("%06d", seq), "00"
		if req[2] == declineCard {
			delete(resp, 38)
			resp[39] = "51"
		}
	case "0400", "0500":
		resp[39] = "00"
	default:
		resp[39] = "12"
	}
	return packIndep(mti[:2]+string(mti[2]+1)+mti[3:], resp)
}

// packIndep writes MTI, bitmap(s) and fields by the table.
func packIndep(mti string, fields map[int]string) ([]byte, bool, error) {
	nums := make([]int, 0, len(fields))
	bitmap := make([]byte, 8)
	for n := range fields {
		nums = append(nums, n)
		if n > 64 && len(bitmap) == 8 {
			bitmap = append(bitmap, make([]byte, 8)...)
			bitmap[0] |= 0x80
		}
	}
	sort.Ints(nums)
	var body []byte
	for _, n := range nums {
		bitmap[(n-1)/8] |= 0x80 >> ((n - 1) % 8)
		v, f := fields[n], wireFields[n]
		switch {
		case f.prefix > 0:
			body = fmt.Appendf(body, "%0*d%s", f.prefix, len(v), v)
		case len(v) != f.fixed:
			return nil, false, fmt.Errorf("%s field %d: %q is not %d characters", mti, n, v, f.fixed)
		default:
			body = append(body, v...)
		}
	}
	out := append([]byte(mti), strings.ToUpper(hex.EncodeToString(bitmap[:8]))...)
	if len(bitmap) > 8 {
		out = append(out, strings.ToUpper(hex.EncodeToString(bitmap[8:]))...)
	}
	return append(out, body...), true, nil
}
