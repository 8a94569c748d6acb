package iso

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the examples of docs/dialects.md from the codec")

// docExample is the 0200 every dialect's example shows: a chip sale with
// a PIN block, ICC data and track 2.
func docExample() (req, resp Financial) {
	req = Financial{MTI: MTIFinancialRequest, PAN: "6222021234567890123", ProcessingCode: ProcPurchase,
		Amount: "000000001000", TransmissionDT: "1130101500", STAN: "000123", LocalTime: "101500", LocalDate: "1130",
		Expiry: "3012", EntryMode: "051", CardSeq: "001", ConditionCode: "00",
		Track2: "6222021234567890123=3012101", TerminalID: "TERM0001", MerchantID: "123456789012345",
		Currency: "156", PINBlock: []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0},
		ICC: []byte{0x9f, 0x26, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, Reserved60: "0000012.1.0"}
	resp = Financial{MTI: MTIFinancialResponse, ProcessingCode: req.ProcessingCode, Amount: req.Amount,
		TransmissionDT: req.TransmissionDT, STAN: req.STAN, LocalTime: req.LocalTime, LocalDate: req.LocalDate,
		EntryMode: req.EntryMode, ConditionCode: req.ConditionCode, RRN: "433410000123", AuthCode: "A1B2C3",
		ResponseCode: RCApproved, TerminalID: req.TerminalID, MerchantID: req.MerchantID, Currency: req.Currency,
		Reserved60: req.Reserved60}
	return req, resp
}

// annotate prints a frame byte by byte, one piece a line: the length
// header, TPDU, application header, MTI, bitmap and each field, each
// field packed on its own by the codec (the pieces add up to the frame,
// which the caller checks).
func annotate(d *Dialect, m *iso8583.Message, env Envelope) (string, []byte, error) {
	packed, err := m.Pack()
	if err != nil {
		return "", nil, err
	}
	frame, err := d.AppendFrame(nil, env, packed)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	var rebuilt []byte
	line := func(raw []byte, what string) {
		rebuilt = append(rebuilt, raw...)
		h := hex.EncodeToString(raw)
		var sp []string
		for i := 0; i < len(h); i += 2 {
			sp = append(sp, h[i:i+2])
		}
		// Long fields wrap at 16 bytes a line.
		for len(sp) > 16 {
			fmt.Fprintf(&b, "%s\n", strings.Join(sp[:16], " "))
			sp = sp[16:]
		}
		fmt.Fprintf(&b, "%-48s  %s\n", strings.Join(sp, " "), what)
	}
	f := &d.Framing
	if n := f.Length.size(); n > 0 {
		what := fmt.Sprintf("length %s: %d bytes follow", f.Length, len(frame)-n)
		if f.CountsItself {
			what = fmt.Sprintf("length %s: %d bytes, itself included", f.Length, len(frame))
		}
		line(frame[:n], what)
	}
	if env.TPDU == nil {
		env.TPDU = f.TPDU
	}
	if env.Header == nil {
		env.Header = f.Header
	}
	if len(env.TPDU) > 0 {
		line(env.TPDU, fmt.Sprintf("TPDU: ID %02x, destination %x, source %x", env.TPDU[0], env.TPDU[1:3], env.TPDU[3:5]))
	}
	if len(env.Header) > 0 {
		what := "application header"
		if d.unionPay {
			h := hex.EncodeToString(env.Header)
			what = fmt.Sprintf("application header: type %s, version %s, terminal status %s, processing requirement %s, reserved %s", h[0:2], h[2:4], h[4:5], h[5:6], h[6:])
		}
		line(env.Header, what)
	}
	ids := make([]int, 0)
	for id := range m.GetFields() {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		fl := m.GetFields()[id]
		raw, err := fl.Pack()
		if err != nil {
			return "", nil, err
		}
		var what string
		switch id {
		case 0:
			mti, _ := m.GetMTI()
			what = "MTI " + mti
		case 1:
			var present []string
			for _, i := range ids[2:] {
				present = append(present, fmt.Sprint(i))
			}
			what = "bitmap: fields " + strings.Join(present, " ")
		default:
			v, _ := fl.String()
			if _, ok := fl.(interface{ SetBytes([]byte) error }); ok && (id == 52 || id == 55 || id == 64 || id == 128) {
				bs, _ := fl.Bytes()
				v = hex.EncodeToString(bs)
			}
			what = fmt.Sprintf("%d %s: %s", id, fl.Spec().Description, v)
		}
		line(raw, what)
	}
	if !bytes.Equal(rebuilt, frame) {
		return "", nil, fmt.Errorf("%s: the annotated pieces do not add up to the frame", d.Name)
	}
	return b.String(), frame, nil
}

// docBlocks are the examples as docs/dialects.md must show them.
func docBlocks(t *testing.T) map[string]string {
	t.Helper()
	req, resp := docExample()
	out := map[string]string{}
	for _, name := range BuiltinDialects() {
		d := mustDialect(t, name)
		for _, v := range []*Financial{&req, &resp} {
			m, err := NewMessage(v)
			if err != nil {
				t.Fatal(err)
			}
			if m, err = d.Convert(m); err != nil {
				t.Fatal(err)
			}
			env := Envelope{}
			if v.MTI == MTIFinancialResponse {
				env = Envelope{TPDU: d.Framing.TPDU, Header: d.Framing.Header}.Reply()
			}
			text, frame, err := annotate(d, m, env)
			if err != nil {
				t.Fatal(err)
			}
			// The frame must read back in the dialect, to the same fields.
			_, body, off, err := d.ReadFrame(bytes.NewReader(frame))
			if err != nil {
				t.Fatal(err)
			}
			back, err := d.Unpack(body, off)
			if err != nil {
				t.Fatal(err)
			}
			var got Financial
			if err := Decode(back, &got); err != nil || fmt.Sprint(got) != fmt.Sprint(*v) {
				t.Fatalf("%s %s does not read back: %v", name, v.MTI, err)
			}
			out[name+" "+v.MTI] = text
		}
	}
	return out
}

var docBlock = regexp.MustCompile("(?s)<!-- example ([a-z0-9]+ [0-9]{4}) -->\n```text\n(.*?)```\n")

// TestDialectsDoc checks every example of docs/dialects.md against the
// codec, byte for byte; -update-doc rewrites them.
func TestDialectsDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "dialects.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := docBlocks(t)
	seen := map[string]bool{}
	var failed bool
	newDoc := docBlock.ReplaceAllFunc(doc, func(b []byte) []byte {
		sm := docBlock.FindSubmatch(b)
		key := string(sm[1])
		seen[key] = true
		w, ok := want[key]
		if !ok {
			t.Errorf("docs/dialects.md has an example %q the codec does not make", key)
			return b
		}
		if string(sm[2]) != w {
			failed = true
			if !*updateDoc {
				t.Errorf("docs/dialects.md example %q differs from the codec (go test ./simulators/iso -run TestDialectsDoc -update-doc):\n%s", key, w)
			}
		}
		return []byte("<!-- example " + key + " -->\n```text\n" + w + "```\n")
	})
	for k := range want {
		if !seen[k] {
			t.Errorf("docs/dialects.md lacks the example %q (add <!-- example %s --> and a text block, then -update-doc)", k, k)
		}
	}
	if failed && *updateDoc {
		if err := os.WriteFile(path, newDoc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
