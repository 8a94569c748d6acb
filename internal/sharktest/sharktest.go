// Package sharktest asks Wireshark's ISO 8583 dissector (tshark) what it
// reads in a capture, for possim's own tests that check the wire format
// against it. Without tshark a test skips, and fails in CI (.ci/run
// installs it).
package sharktest

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
)

// Path is tshark's path; without it t skips (fails under CI).
func Path(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tshark not found and CI is set: install tshark (.ci/run does): %v", err)
		}
		t.Skip("tshark not installed")
	}
	return p
}

// Message is one message as the dissector reads it: the capture's frame
// number, the MTI and fields 2..128 as Wireshark shows them.
type Message struct {
	Frame  string
	MTI    string
	Fields map[int]string
}

// Decode runs the dissector over capture with the host on port (length
// header big-endian, the possim87 form). It reads tshark's JSON tree, not
// -T fields, because a segment holding two messages has two iso8583 layers
// whose fields -T fields would run together; each becomes a Message with
// the same Frame.
func Decode(t testing.TB, capture string, port int) []Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Path(t), "-r", capture,
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
	var msgs []Message
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
			m := Message{Frame: frame, Fields: map[int]string{}}
			m.MTI, _ = l["iso8583.mti"].(string)
			for k, v := range l {
				n, err := strconv.Atoi(strings.TrimPrefix(k, "iso8583.bit"))
				if s, ok := v.(string); ok && err == nil && strings.HasPrefix(k, "iso8583.bit") {
					m.Fields[n] = s
				}
			}
			msgs = append(msgs, m)
		}
	}
	return msgs
}
