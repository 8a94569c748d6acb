package bridge

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestReadRecordsSample(t *testing.T) {
	b, err := os.ReadFile("testdata/record.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadRecords(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 || recs[4].Fault != "corrupt" || recs[4].Sent != "0250494e4703ec" || recs[6].Event != "pos-disconnected" {
		t.Errorf("parsed %+v", recs)
	}
	if _, err := ReadRecords(strings.NewReader("{\"t\":\"x\"}\nnot json\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line error = %v, want it to name line 2", err)
	}
}

// FuzzReadRecords: any input parses or fails cleanly, and what parses
// re-encodes to records that parse the same.
func FuzzReadRecords(f *testing.F) {
	b, err := os.ReadFile("testdata/record.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, line := range bytes.Split(b, []byte("\n")) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := ReadRecords(bytes.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, r := range recs {
			enc.Encode(r)
		}
		again, err := ReadRecords(&buf)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-read %d records, %v; want %d", len(again), err, len(recs))
		}
	})
}
