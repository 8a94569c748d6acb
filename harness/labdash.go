package harness

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/possim/possim/money"
)

// LabDashboardConfig configures NewLabDashboard.
type LabDashboardConfig struct {
	Title  string // heads the page, e.g. "possim run"
	Token  string // as ControlConfig.Token
	Logger *slog.Logger
}

// LabDashboard serves the dashboard of possim's own labs (possim run and
// possim demo): the control API's page and event stream over a timeline
// of its own, into which each attached lab's events are copied, with what
// the page shows that a lab's timeline does not carry: each receipt as
// the printer rendered it and the ledger's postings and balance as they
// happen. The labs' own timelines stay as they were, so a run's JSONL and
// reports do not change with the dashboard.
type LabDashboard struct {
	ctl  *Control
	rec  *Recorder
	log  *slog.Logger
	work chan func(context.Context)
	stop context.CancelFunc
	done chan struct{}

	mu       sync.Mutex
	lab      *Lab // the lab whose events are copied; an older one is ignored
	postings int  // postings of lab already shown
	copied   int  // the last of lab's events copied when it was attached
}

// NewLabDashboard returns a dashboard with no lab yet; Attach adds one.
func NewLabDashboard(cfg LabDashboardConfig) *LabDashboard {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rec := NewRecorder(nil)
	ctx, stop := context.WithCancel(context.Background())
	d := &LabDashboard{rec: rec, log: cfg.Logger, stop: stop, done: make(chan struct{}),
		work: make(chan func(context.Context), 256),
		ctl:  NewControl(ControlConfig{Recorder: rec, Token: cfg.Token, Logger: cfg.Logger, Title: cfg.Title})}
	go d.worker(ctx)
	return d
}

// Start serves the page and its API on addr, as Control.Start.
func (d *LabDashboard) Start(addr string) error { return d.ctl.Start(addr) }

// URL is where the page is served, or "" before Start.
func (d *LabDashboard) URL() string { return d.ctl.URL() }

// Recorder is the dashboard's own timeline.
func (d *LabDashboard) Recorder() *Recorder { return d.rec }

// Close stops serving and waits for the dashboard's goroutines.
func (d *LabDashboard) Close() error {
	d.stop()
	<-d.done
	return d.ctl.Close()
}

// Attach shows lab from now on, under name (a scenario's, or "demo"). The
// lab before it is no longer shown: labs are shown one at a time.
func (d *LabDashboard) Attach(name string, lab *Lab) {
	// Watch first, then copy what came before, holding d.mu so that the
	// watcher waits: an event is then either in the copy (and skipped by
	// the watcher) or after it, never lost between the two.
	d.mu.Lock()
	d.lab, d.postings = lab, 0
	d.rec.Add(Event{Source: "lab", Kind: "start", Text: name})
	lab.Recorder.Watch(func(e Event) { d.copy(lab, e) })
	for _, e := range lab.Recorder.Events() {
		d.rec.Add(e)
		d.copied = e.Seq
	}
	d.mu.Unlock()
}

// copy runs on the lab's event path: it copies the event and queues what
// needs a look at the lab, never waiting for it.
func (d *LabDashboard) copy(lab *Lab, e Event) {
	d.mu.Lock()
	current := d.lab == lab && e.Seq > d.copied
	d.mu.Unlock()
	if !current {
		return
	}
	d.rec.Add(e)
	switch {
	case e.Source == "printer" && e.Kind == "receipt" && lab.Printer != nil:
		// The event names the receipt: two cut together are two receipts,
		// not the last one twice.
		var seq int
		fmt.Sscanf(e.Text, "receipt %d", &seq)
		d.queue(func(context.Context) { d.receipt(lab, seq) })
	case e.Source == "host" && e.Kind == "iso_out" && lab.Ledger != nil:
		d.queue(func(ctx context.Context) { d.ledger(ctx, lab) })
	}
}

func (d *LabDashboard) queue(f func(context.Context)) {
	select {
	case d.work <- f:
	default:
		d.log.Warn("dashboard behind: a receipt or ledger update skipped")
	}
}

func (d *LabDashboard) worker(ctx context.Context) {
	defer close(d.done)
	for {
		select {
		case f := <-d.work:
			f(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// receipt shows receipt seq as the printer rendered it.
func (d *LabDashboard) receipt(lab *Lab, seq int) {
	for _, r := range lab.Printer.Receipts() {
		if r.Seq == seq {
			d.rec.Add(Event{Source: "printer", Kind: "printed", Text: "receipt " + strconv.Itoa(r.Seq),
				Fields: map[string]string{"seq": strconv.Itoa(r.Seq), "html": receiptHTML(r.HTML), "text": r.Text}})
			return
		}
	}
	d.log.Debug("dashboard: receipt no longer kept", "seq", seq)
}

// ledger shows the postings the host made since the last look, and the
// merchant's balance after them.
func (d *LabDashboard) ledger(ctx context.Context, lab *Lab) {
	if lab.Terminal == nil {
		return
	}
	mid := lab.Terminal.MerchantID()
	// Postings are kept by Unix nanoseconds: 2200 is past any lab clock
	// and within their range.
	ps, err := lab.Ledger.Postings(ctx, mid, time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		d.log.Debug("dashboard: reading postings", "err", err) // the lab closed under us
		return
	}
	d.mu.Lock()
	if d.lab != lab {
		d.mu.Unlock()
		return
	}
	seen := min(d.postings, len(ps))
	d.postings = len(ps)
	d.mu.Unlock()
	if seen == len(ps) {
		return
	}
	for _, p := range ps[seen:] {
		g, f, n := SignedPosting(p)
		d.rec.Add(Event{Source: "ledger", Kind: "posting",
			Text: p.Type + " " + p.EntryKey.TID + "/" + p.EntryKey.STAN + " net " + money.Format(n),
			Fields: map[string]string{"type": p.Type, "tid": p.EntryKey.TID, "stan": p.EntryKey.STAN,
				"gross": money.Format(g), "fee": money.Format(f), "net": money.Format(n)}})
	}
	bal, err := lab.Ledger.Balance(ctx, mid)
	if err != nil {
		d.log.Debug("dashboard: reading the balance", "err", err)
		return
	}
	d.rec.Add(Event{Source: "ledger", Kind: "balance", Text: mid + " " + money.FormatGrouped(bal),
		Fields: map[string]string{"merchant": mid, "balance": money.FormatGrouped(bal)}})
}
