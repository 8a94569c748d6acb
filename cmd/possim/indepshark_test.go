package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/card"
)

// tsharkPath returns tshark's path; without it the test skips, except
// under CI (CI=1), where a missing tshark is a failure.
func tsharkPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tshark not found and CI is set: install tshark: %v", err)
		}
		t.Skip("tshark not installed")
	}
	return p
}

// sharkMessage is one message as Wireshark's ISO 8583 dissector reads it.
type sharkMessage struct {
	frame  string
	mti    string
	fields map[int]string
}

// sharkDecode runs tshark's ISO 8583 dissector over a capture with the
// host on port. It reads the JSON tree, not -T fields, because a segment
// holding two messages has two iso8583 layers whose fields -T fields
// would run together.
func sharkDecode(t *testing.T, capture string, port int) []sharkMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tsharkPath(t), "-r", capture,
		"-d", fmt.Sprintf("tcp.port==%d,iso8583", port), "-o", "iso8583.len_endian:Big endian",
		"-Y", "iso8583", "-T", "json", "--no-duplicate-keys", "-j", "frame iso8583")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	var packets []struct {
		Source struct {
			Layers struct {
				Frame   map[string]any  `json:"frame"`
				ISO8583 json.RawMessage `json:"iso8583"`
			} `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &packets); err != nil {
		t.Fatalf("tshark JSON: %v", err)
	}
	var msgs []sharkMessage
	for _, p := range packets {
		frame, _ := p.Source.Layers.Frame["frame.number"].(string)
		var layers []map[string]any
		if err := json.Unmarshal(p.Source.Layers.ISO8583, &layers); err != nil {
			var one map[string]any
			if err := json.Unmarshal(p.Source.Layers.ISO8583, &one); err != nil {
				t.Fatalf("frame %s: iso8583 layer: %v", frame, err)
			}
			layers = []map[string]any{one}
		}
		for _, l := range layers {
			m := sharkMessage{frame: frame, fields: map[int]string{}}
			m.mti, _ = l["iso8583.mti"].(string)
			for k, v := range l {
				n, err := strconv.Atoi(strings.TrimPrefix(k, "iso8583.bit"))
				if s, ok := v.(string); ok && err == nil && strings.HasPrefix(k, "iso8583.bit") {
					m.fields[n] = s
				}
			}
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// sharkShown is what trace shows for Wireshark's value v of field n: the
// same masking, and the numeric counts and amounts of settlement without
// their leading zeros.
func sharkShown(n int, v string) string {
	switch n {
	case 2:
		return card.MaskPAN(v)
	case 35:
		return "[" + strconv.Itoa(len(v)) + " bytes]"
	case 52, 55:
		return "[" + strconv.Itoa(len(v)/2) + " bytes]"
	case 62:
		if len(v) == 38 {
			return "[key under TMK] kcv=" + v[32:]
		}
	case 74, 76, 86, 88:
		if s := strings.TrimLeft(v, "0"); s != "" {
			return s
		}
		return "0"
	}
	return v
}

// compareShark compares trace show --json with Wireshark message by
// message and field by field, and returns how many fields it compared.
func compareShark(t *testing.T, ws []sharkMessage, tr []traceJSON) int {
	t.Helper()
	if len(ws) != len(tr) {
		t.Fatalf("Wireshark reads %d messages, trace show %d", len(ws), len(tr))
	}
	compared := 0
	for i, w := range ws {
		m := tr[i]
		if "packet "+w.frame != m.Where || w.mti != m.MTI {
			t.Errorf("message %d: Wireshark %s at frame %s, trace %s at %s", i+1, w.mti, w.frame, m.MTI, m.Where)
			continue
		}
		ours := map[int]string{}
		for _, f := range m.Fields {
			ours[f.Num] = f.Value
		}
		var wsRun, ourRun string
		for n, v := range w.fields {
			got, ok := ours[n]
			switch {
			case !ok:
				t.Errorf("#%d %s field %d: Wireshark %q, trace has none", m.N, m.MTI, n, v)
			case (n == 86 || n == 88) && len(v) == 15:
				// Wireshark's 1987 table has 86-89 n15, ISO and possim87
				// n16: compared below, end to end.
			case got != sharkShown(n, v):
				t.Errorf("#%d %s field %d: Wireshark %q (shown %q), trace %q", m.N, m.MTI, n, v, sharkShown(n, v), got)
			}
			compared++
		}
		for _, n := range []int{86, 88} {
			if v, ok := w.fields[n]; ok && len(v) == 15 {
				wsRun += v
				ourRun += fmt.Sprintf("%016s", ours[n])
			}
		}
		if !strings.HasPrefix(ourRun, wsRun) {
			t.Errorf("#%d %s fields 86, 88: Wireshark (n15) %q, trace (n16) %q", m.N, m.MTI, wsRun, ourRun)
		}
		if len(ours) != len(w.fields) {
			t.Errorf("#%d %s: trace has %d fields, Wireshark %d", m.N, m.MTI, len(ours), len(w.fields))
		}
	}
	return compared
}
