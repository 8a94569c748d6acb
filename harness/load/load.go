package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/iso"
	"gopkg.in/yaml.v3"
)

// Config says what load to put on which host.
type Config struct {
	Addr     string
	Spec     *iso8583.MessageSpec // ignored when Dialect is set
	Dialect  *iso.Dialect         // the wire; nil: possim87 around Spec
	Profile  *profile.Profile
	Conns    int
	Duration time.Duration // stop after this long, or
	Count    int           // after this many requests (the one reached first)
	Rate     float64       // requests per second over all connections; 0: closed loop
	Mix      Mix
	Seed     uint64
	Timeout  time.Duration // per request; default 5s
	// Progress, when set, receives a one-line snapshot every Every.
	Progress func(Snapshot)
	Every    time.Duration
	// Window, when set, splits the latency figures into windows of this
	// length (Report.Windows), to show that p99 holds steady over a soak.
	Window time.Duration
	// TIDOffset skips that many of the profile's load terminals (and load
	// cards), so that generators on several machines each use terminals of
	// their own: --tid-offset 32 starts at LOAD0033.
	TIDOffset int
}

// Kind is one kind of request in the mix.
type Kind string

// The kinds of request the generator sends.
const (
	Sale     Kind = "sale"
	QR       Kind = "qr"
	Void     Kind = "void"
	Reversal Kind = "reversal"
	Decline  Kind = "decline"
)

// Mix weighs the kinds of request.
type Mix map[Kind]int

// DefaultMix is card sales only: the figure the benchmark record quotes.
var DefaultMix = Mix{Sale: 1}

// LoadMix reads a mix file: YAML or JSON, kind: weight.
func LoadMix(path string) (Mix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading mix: %w", err)
	}
	var raw map[string]int
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	m := Mix{}
	for k, w := range raw {
		switch Kind(k) {
		case Sale, QR, Void, Reversal, Decline:
		default:
			return nil, fmt.Errorf("%s: unknown kind %q; valid kinds: sale, qr, void, reversal, decline", path, k)
		}
		if w < 0 {
			return nil, fmt.Errorf("%s: weight of %s is negative", path, k)
		}
		m[Kind(k)] = w
	}
	if m.total() == 0 {
		return nil, fmt.Errorf("%s: the mix has no weight", path)
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// pick draws a kind; kinds are walked in a fixed order so a seed repeats.
func (m Mix) pick(r *rand.Rand) Kind {
	n := r.IntN(m.total())
	for _, k := range []Kind{Sale, QR, Void, Reversal, Decline} {
		if n < m[k] {
			return k
		}
		n -= m[k]
	}
	return Sale
}

// Snapshot is the progress so far.
type Snapshot struct {
	Elapsed  time.Duration
	Requests int64
	Approved int64
	Errors   int64
}

// Report is the outcome of a run, or of several merged (MergeReports);
// JSON field names are the CLI's contract. Requests counts the requests
// sent; each is approved, declined (Declines, by response code) or an
// error (ErrorKinds, by kind).
type Report struct {
	Host        string         `json:"host"`
	Conns       int            `json:"conns"`
	Terminals   string         `json:"terminals,omitempty"` // LOAD0001-LOAD0032; several ranges comma-separated when merged
	Generators  int            `json:"generators"`          // 1 for a run; the number of reports merged
	Rate        float64        `json:"rate,omitempty"`
	Start       time.Time      `json:"start"`
	End         time.Time      `json:"end"`
	Seconds     float64        `json:"seconds"`
	Requests    int64          `json:"requests"`
	Approved    int64          `json:"approved"`
	Declines    map[string]int `json:"declines_by_code"`
	Errors      int64          `json:"errors"`
	ErrorKinds  map[string]int `json:"errors_by_kind,omitempty"`
	Throughput  float64        `json:"requests_per_second"`
	ApprovedTPS float64        `json:"approved_per_second"`
	Latency     Latency        `json:"latency_ms"`
	Histogram   *Histogram     `json:"histogram"`
	WindowSecs  float64        `json:"window_s,omitempty"`
	Windows     []Window       `json:"windows,omitempty"`
}

// Window is the requests sent in one window of a run: how many, what
// became of them and their latency.
type Window struct {
	At         time.Time      `json:"at"`
	Start      float64        `json:"start_s"` // after the run's start
	Seconds    float64        `json:"seconds"` // the last window may be shorter
	Requests   int            `json:"requests"`
	Approved   int64          `json:"approved"`
	Errors     int64          `json:"errors"`
	Declines   map[string]int `json:"declines_by_code"`
	ErrorKinds map[string]int `json:"errors_by_kind"`
	Latency    Latency        `json:"latency_ms"`
	Histogram  *Histogram     `json:"histogram"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// Run puts the load on the host and reports. It signs each connection on
// first; a connection that cannot sign on is an error for the whole run.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Conns <= 0 {
		return nil, errors.New("conns must be at least 1")
	}
	if cfg.Duration <= 0 && cfg.Count <= 0 {
		return nil, errors.New("give a duration or a count")
	}
	if cfg.Dialect == nil {
		cfg.Dialect = iso.WithSpec(cfg.Spec)
	}
	cfg.Spec = cfg.Dialect.Spec
	if cfg.Profile == nil {
		cfg.Profile = profile.Default()
	}
	if cfg.Mix == nil {
		cfg.Mix = DefaultMix
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	terms, cards, err := loadIdentities(cfg.Profile, cfg.TIDOffset, cfg.Conns)
	if err != nil {
		return nil, err
	}
	var wins *windows
	if cfg.Window > 0 {
		wins = &windows{width: cfg.Window, byIdx: map[int]*tally{}}
	}

	workers := make([]*worker, cfg.Conns)
	for i := range workers {
		w := &worker{
			cfg: &cfg, term: terms[i], card: cards[(cfg.TIDOffset+i)%len(cards)],
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
			all: newTally(runFigures), wins: wins,
		}
		if wins != nil {
			w.win = newTally(windowFigures)
		}
		w.stan = 1 + w.rng.IntN(400000) // a fresh range per run: STANs are keys
		if err := w.connect(ctx); err != nil {
			for _, o := range workers[:i] {
				o.conn.Close()
			}
			return nil, fmt.Errorf("terminal %s: %w", w.term.ID, err)
		}
		workers[i] = w
	}

	var (
		issued   atomic.Int64
		requests atomic.Int64
		approved atomic.Int64
		errCount atomic.Int64
	)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, cfg.Duration)
		defer cancel()
	}
	start := time.Now()
	wallStart := start.Round(0) // the wall clock only: reports compare starts across machines
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(runCtx, start, &issued, &requests, &approved, &errCount)
		}()
	}
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		every := cfg.Every
		if every <= 0 {
			every = 500 * time.Millisecond
		}
		go func() {
			defer close(progressDone)
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
					cfg.Progress(Snapshot{Elapsed: time.Since(start), Requests: requests.Load(), Approved: approved.Load(), Errors: errCount.Load()})
				}
			}
		}()
	} else {
		close(progressDone)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	<-progressDone
	for _, w := range workers {
		w.conn.Close()
	}

	total := newTally(runFigures)
	for _, w := range workers {
		if err := total.add(w.all); err != nil {
			return nil, err
		}
		if wins != nil {
			wins.flush(w.winIdx, w.win)
		}
	}
	rep := &Report{Host: cfg.Addr, Conns: cfg.Conns, Terminals: terms[0].ID + "-" + terms[len(terms)-1].ID, Generators: 1,
		Rate: cfg.Rate, Start: wallStart.UTC(), End: wallStart.Add(elapsed).UTC(), Seconds: elapsed.Seconds(),
		Requests: total.requests, Approved: total.approved, Declines: total.declines,
		Errors: total.errors, ErrorKinds: total.errs, Histogram: total.hist, Latency: total.hist.Latency()}
	rep.Throughput = float64(rep.Requests) / elapsed.Seconds()
	rep.ApprovedTPS = float64(rep.Approved) / elapsed.Seconds()
	if wins != nil {
		rep.WindowSecs = cfg.Window.Seconds()
		rep.Windows = wins.report(wallStart, elapsed)
	}
	return rep, nil
}

// loadIdentities gives each connection its own terminal of the profile's
// load range (LOAD0001...), from the offset on, and a card of the load
// card range.
func loadIdentities(p *profile.Profile, offset, n int) ([]profile.Terminal, []profile.Card, error) {
	var terms []profile.Terminal
	for _, t := range p.Terminals {
		if strings.HasPrefix(t.ID, "LOAD") {
			terms = append(terms, t)
		}
	}
	if len(terms) == 0 {
		return nil, nil, fmt.Errorf("the profile has no load terminals (LOAD0001...) for %d connections; add a terminal range with count: %d", n, n)
	}
	if offset < 0 {
		return nil, nil, fmt.Errorf("terminal offset %d is negative; the profile's load terminals are %s-%s (%d)", offset, terms[0].ID, terms[len(terms)-1].ID, len(terms))
	}
	if offset+n > len(terms) {
		return nil, nil, fmt.Errorf("terminal offset %d + %d connections needs %d load terminals; the profile has %d load terminals, %s-%s: use an offset of at most %d for %d connections, or add a terminal range with count: %d",
			offset, n, offset+n, len(terms), terms[0].ID, terms[len(terms)-1].ID, max(len(terms)-n, 0), n, offset+n)
	}
	var cards []profile.Card
	for _, c := range p.Cards {
		if strings.HasPrefix(c.Alias, "load-") {
			cards = append(cards, c)
		}
	}
	if len(cards) == 0 {
		return nil, nil, errors.New("the profile has no load cards (alias load-0001...)")
	}
	return terms[offset : offset+n], cards, nil
}

// CheckTerminals says whether the profile (nil: the embedded one) has the
// load terminals and cards that n connections from offset on need: the
// error Run would give, before anything starts.
func CheckTerminals(p *profile.Profile, offset, n int) error {
	if p == nil {
		p = profile.Default()
	}
	_, _, err := loadIdentities(p, offset, n)
	return err
}

// WriteText prints the report for a person.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "host %s, %d connections", r.Host, r.Conns)
	if r.Terminals != "" {
		fmt.Fprintf(w, " (%s)", r.Terminals)
	}
	if r.Generators > 1 {
		fmt.Fprintf(w, ", %d generators merged", r.Generators)
	}
	if r.Rate > 0 {
		fmt.Fprintf(w, ", open loop at %.0f/s", r.Rate)
	} else {
		fmt.Fprint(w, ", closed loop")
	}
	fmt.Fprintf(w, ", %.1f s\n", r.Seconds)
	fmt.Fprintf(w, "requests   %d (%.0f/s)\napproved   %d (%.0f/s)\nerrors     %d\n", r.Requests, r.Throughput, r.Approved, r.ApprovedTPS, r.Errors)
	codes := make([]string, 0, len(r.Declines))
	for c := range r.Declines {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "declined   %s %-28s %d\n", c, iso.ResponseText(c), r.Declines[c])
	}
	for k, v := range r.ErrorKinds {
		fmt.Fprintf(w, "error      %-31s %d\n", k, v)
	}
	l := r.Latency
	fmt.Fprintf(w, "latency ms p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	for _, win := range r.Windows {
		l := win.Latency
		fmt.Fprintf(w, "  from %6.0fs %8d requests  p50 %.3f  p99 %.3f  max %.3f\n", win.Start, win.Requests, l.P50, l.P99, l.Max)
	}
}

type worker struct {
	cfg    *Config
	term   profile.Terminal
	card   profile.Card
	rng    *rand.Rand
	conn   *client
	stan   int
	last   *iso8583.Message // the last approved sale, for voids and reversals
	all    *tally           // the whole run
	wins   *windows         // the run's windows, nil without Config.Window
	win    *tally           // the window being sent in
	winIdx int
}

func (w *worker) connect(ctx context.Context) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", w.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dialing host: %w", err)
	}
	w.conn = newClient(nc, w.cfg.Dialect, w.cfg.Timeout)
	m := w.base(iso.MTINetworkRequest)
	_ = m.Field(70, iso.NetSignOn)
	_ = m.Field(60, w.term.Software)
	resp, err := w.conn.Send(m)
	if err != nil {
		w.conn.Close()
		return fmt.Errorf("sign-on: %w", err)
	}
	if rc, _ := resp.GetString(39); rc != iso.RCApproved {
		w.conn.Close()
		return fmt.Errorf("sign-on answered %s %s", rc, iso.ResponseText(rc))
	}
	return nil
}

func (w *worker) nextSTAN() string {
	w.stan++
	if w.stan > 999999 {
		w.stan = 1
	}
	return zeroPad(int64(w.stan), 6)
}

// zeroPad formats v in n digits with leading zeros, without fmt.
func zeroPad(v int64, n int) string {
	var b [20]byte
	i := len(b)
	for v > 0 || i > len(b)-n {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

func (w *worker) base(mti string) *iso8583.Message {
	now := time.Now()
	m := iso8583.NewMessage(w.cfg.Spec)
	m.MTI(mti)
	_ = m.Field(7, now.UTC().Format("0102150405"))
	_ = m.Field(11, w.nextSTAN())
	_ = m.Field(12, now.Format("150405"))
	_ = m.Field(13, now.Format("0102"))
	_ = m.Field(41, w.term.ID)
	_ = m.Field(42, w.term.Merchant)
	return m
}

func (w *worker) build(k Kind) *iso8583.Message {
	switch k {
	case Void, Reversal:
		if w.last == nil {
			return w.build(Sale)
		}
		o := w.last
		w.last = nil
		mti, proc := iso.MTIReversal, iso.ProcPurchase
		if k == Void {
			mti, proc = iso.MTIFinancialRequest, iso.ProcVoid
		}
		m := w.base(mti)
		for _, id := range []int{2, 4, 14, 22, 37, 38, 49} {
			if v, err := o.GetString(id); err == nil && v != "" {
				_ = m.Field(id, v)
			}
		}
		_ = m.Field(3, proc)
		_ = m.Field(25, "00")
		omti, _ := o.GetString(0)
		ostan, _ := o.GetString(11)
		odt, _ := o.GetString(7)
		_ = m.Field(90, iso.OriginalData(omti, ostan, odt))
		return m
	case QR:
		m := w.base(iso.MTIFinancialRequest)
		_ = m.Field(3, iso.ProcPurchase)
		_ = m.Field(4, zeroPad(int64(1+w.rng.IntN(99)), 12))
		_ = m.Field(22, iso.EntryQR+"2")
		_ = m.Field(25, "00")
		_ = m.Field(48, w.cfg.Profile.Wallets[0].Code)
		_ = m.Field(49, w.cfg.Profile.CurrencyCode)
		return m
	}
	card := w.card
	if k == Decline {
		if c, err := w.cfg.Profile.Card("lost"); err == nil {
			card = c
		}
	}
	m := w.base(iso.MTIFinancialRequest)
	_ = m.Field(2, card.PAN)
	_ = m.Field(3, iso.ProcPurchase)
	_ = m.Field(4, zeroPad(int64(100+w.rng.IntN(20000)), 12))
	_ = m.Field(14, card.ExpiryYYMM())
	_ = m.Field(22, iso.EntryManual+"2")
	_ = m.Field(25, "00")
	_ = m.Field(49, w.cfg.Profile.CurrencyCode)
	return m
}

func (w *worker) run(ctx context.Context, start time.Time, issued, requests, approved, errCount *atomic.Int64) {
	var interval time.Duration
	if w.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(w.cfg.Conns) / w.cfg.Rate)
	}
	// Stagger open-loop workers so they don't all fire on the same tick.
	next := start.Add(time.Duration(w.rng.Int64N(int64(max(interval, 1)))))
	for ctx.Err() == nil {
		if w.cfg.Count > 0 && issued.Add(1) > int64(w.cfg.Count) {
			return
		}
		intended := time.Now()
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			intended = next
			next = next.Add(interval)
		}
		k := w.cfg.Mix.pick(w.rng)
		m := w.build(k)
		resp, err := w.conn.Send(m)
		lat := time.Since(intended)
		requests.Add(1)
		if err != nil {
			errCount.Add(1)
			w.record(start, intended, lat, "", errKind(err))
			if errors.Is(err, errClosed) {
				return
			}
			continue
		}
		rc, _ := resp.GetString(39)
		w.record(start, intended, lat, rc, "")
		if rc == iso.RCApproved {
			approved.Add(1)
			if mti, _ := m.GetMTI(); mti == iso.MTIFinancialRequest && (k == Sale) {
				if rrn, err := resp.GetString(37); err == nil {
					_ = m.Field(37, rrn)
				}
				if ac, err := resp.GetString(38); err == nil && ac != "" {
					_ = m.Field(38, ac)
				}
				w.last = m
			}
		}
	}
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errClosed):
		return "connection closed"
	}
	s := err.Error()
	if i := strings.IndexByte(s, ':'); i > 0 {
		s = s[:i]
	}
	return s
}
