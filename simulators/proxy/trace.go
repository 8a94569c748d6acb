package proxy

import (
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/possim/possim/simulators/iso"
)

// TypeTrace is the toxic that writes the trace. The server puts one on each
// stream of each proxy when it has a trace; it changes nothing.
const TypeTrace = "possim_trace"

// Event is one message on the trace, in the JSON shape of `possim host
// --trace` so the same tools read both: "in" is what the terminal sent
// (upstream), "out" what it was sent (downstream). Fields holds every
// present field by number, card data masked.
type Event struct {
	Time     time.Time         `json:"time"`
	Dir      string            `json:"dir"`
	Remote   string            `json:"remote,omitempty"`
	MTI      string            `json:"mti"`
	RespCode string            `json:"rc,omitempty"`
	Fields   map[string]string `json:"fields"`
	Note     string            `json:"note,omitempty"`
	Proxy    string            `json:"proxy,omitempty"` // which proxy carried it
}

// sinks maps a trace toxic's sink number to where it writes. A toxic is
// made by Toxiproxy's process-wide registry from its JSON attributes
// alone, so a number is the only way back to the server that added it;
// and a number, because toxiproxy-cli shows only numeric attributes.
var (
	sinks   sync.Map // int64 -> *sinkRef
	sinkSeq atomic.Int64
)

// wires maps a server's wire number to its dialect, for the same reason:
// the server sets the number on every ISO toxic it creates.
var (
	wires   sync.Map // int64 -> *iso.Dialect
	wireSeq atomic.Int64
)

// sinkRef is one stream of one proxy on a server's trace.
type sinkRef struct {
	trace *traceSink
	proxy string
	dir   string // "in" or "out"
}

type traceSink struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

func (s *traceSink) write(ev Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(b)
}

// TraceToxic records each message that passes its place in the
// chain on the trace named by Sink, and passes it on.
type TraceToxic struct {
	frameToxic
	Sink int64 `json:"sink"`
}

func (t *TraceToxic) Pipe(stub *toxics.ToxicStub) {
	pipeFrames(stub, t.dialect(), func(f *isoFrame) []out {
		if v, ok := sinks.Load(t.Sink); ok {
			ref := v.(*sinkRef)
			mti, _ := f.msg.GetMTI()
			ev := Event{Time: ref.trace.now(), Dir: ref.dir, MTI: mti, Fields: iso.MaskFields(f.msg), Proxy: ref.proxy}
			ev.RespCode = ev.Fields["39"]
			ref.trace.write(ev)
		}
		return f.pass()
	})
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
