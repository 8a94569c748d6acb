package load

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzReportJSON: any bytes given as a report decode or fail, never panic,
// and a report that decodes renders.
func FuzzReportJSON(f *testing.F) {
	h := newTally(runFigures)
	h.count(250, "00", "")
	h.count(90000, "51", "")
	good, _ := json.Marshal(&Report{Requests: 2, Approved: 1, Declines: h.declines, Histogram: h.hist, Latency: h.hist.Latency(), WindowSecs: 1,
		Windows: []Window{h.window(time.Time{}, 0, time.Second)}})
	f.Add(good)
	f.Add([]byte(`{"histogram":{"unit":"us","count":0,"format":"hdrhistogram-v2-compressed-base64","data":"HISTFAAAAB"}}`))
	f.Add([]byte(`{"windows":[{"histogram":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Report
		if err := json.Unmarshal(b, &r); err != nil {
			return
		}
		if _, err := r.HTML(); err != nil {
			t.Fatalf("a decoded report does not render: %v", err)
		}
	})
}
