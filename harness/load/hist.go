package load

import (
	"encoding/json"
	"errors"
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to one hour: an
// open-loop run against a stalled host counts from the intended send time,
// so a latency can outgrow the request timeout by far. A longer one is
// recorded as one hour (and shows as the max).
const (
	histLowest  = 1
	histHighest = 3600 * 1000 * 1000
	// runFigures: the whole run's histogram keeps three significant
	// figures (a value is off by at most 0.1%); windowFigures: a window's
	// keeps two, since a 10-minute soak of 1 s windows holds 600 of them.
	runFigures    = 3
	windowFigures = 2
)

// Histogram is a latency histogram in microseconds. In JSON it is the
// HdrHistogram V2 compressed encoding in base64 (lossless: every count of
// every bucket), with the unit and total beside it for a reader.
type Histogram struct {
	h *hdr.Histogram
}

func newHistogram(figures int) *Histogram {
	return &Histogram{h: hdr.New(histLowest, histHighest, figures)}
}

// record adds one latency in microseconds.
func (x *Histogram) record(us int64) {
	_ = x.h.RecordValue(min(max(us, histLowest), histHighest)) // clamped: cannot fail
}

// Count is the number of latencies recorded.
func (x *Histogram) Count() int64 {
	if x == nil || x.h == nil {
		return 0
	}
	return x.h.TotalCount()
}

// Merge adds every count of o. It fails only if o holds values this
// histogram cannot (never between histograms possim wrote).
func (x *Histogram) Merge(o *Histogram) error {
	if o == nil || o.h == nil {
		return nil
	}
	if dropped := x.h.Merge(o.h); dropped > 0 {
		return fmt.Errorf("%d latencies out of the histogram's range (%d..%d µs)", dropped, histLowest, histHighest)
	}
	return nil
}

// Latency is the percentiles of the histogram in milliseconds.
func (x *Histogram) Latency() Latency {
	if x.Count() == 0 {
		return Latency{}
	}
	ms := func(v int64) float64 { return float64(v) / 1000 }
	h := x.h
	return Latency{P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max())}
}

// Bars is the histogram's non-empty buckets, lowest first: the upper
// value of each (µs) and its count.
func (x *Histogram) Bars() []Bar {
	if x.Count() == 0 {
		return nil
	}
	var out []Bar
	for _, b := range x.h.Distribution() {
		if b.Count > 0 {
			out = append(out, Bar{From: b.From, To: b.To, Count: b.Count})
		}
	}
	return out
}

// Bar is one bucket of a histogram: latencies From..To µs, Count of them.
type Bar struct{ From, To, Count int64 }

type histJSON struct {
	Unit    string `json:"unit"`
	Count   int64  `json:"count"`
	Figures int64  `json:"significant_figures"`
	Format  string `json:"format"`
	Data    string `json:"data"`
}

const histFormat = "hdrhistogram-v2-compressed-base64"

// MarshalJSON writes the V2 encoding.
func (x *Histogram) MarshalJSON() ([]byte, error) {
	if x == nil || x.h == nil {
		return []byte("null"), nil
	}
	data, err := x.h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("encoding histogram: %w", err)
	}
	return json.Marshal(histJSON{Unit: "us", Count: x.h.TotalCount(), Figures: x.h.SignificantFigures(), Format: histFormat, Data: string(data)})
}

// UnmarshalJSON reads the V2 encoding and checks it against the count.
func (x *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Format != histFormat {
		return fmt.Errorf("histogram format %q; want %q", j.Format, histFormat)
	}
	if j.Unit != "us" {
		return fmt.Errorf("histogram unit %q; want \"us\"", j.Unit)
	}
	if j.Data == "" {
		return errors.New("histogram has no data")
	}
	h, err := hdr.Decode([]byte(j.Data))
	if err != nil {
		return fmt.Errorf("decoding histogram: %w", err)
	}
	if h.TotalCount() != j.Count {
		return fmt.Errorf("histogram holds %d latencies, its count says %d", h.TotalCount(), j.Count)
	}
	x.h = h
	return nil
}
