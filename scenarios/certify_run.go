package scenarios

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/possim/possim/harness"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

// CertifyOptions configures possim certify: a plan of @certify scenarios
// in which the possim host serves a real terminal, an operator (a person
// at the console, or a command) works the terminal, and the steps check
// what the terminal sent.
type CertifyOptions struct {
	Listen string   // the host's address; the terminal under test connects here
	Plan   []string // feature files or folders
	Tags   string   // godog tag expression within the plan
	// Operator, when set, runs once per prompt (sh -c) with the prompt in
	// POSSIM_* environment variables; empty: the prompt goes to Console
	// and the run waits for the terminal on the wire.
	Operator string
	Console  io.Writer
	Format   string // godog formats: pretty,junit:FILE
	HTML     string
	// Timeout is how long a prompt waits for the terminal's first message,
	// and how long an operator command may run.
	Timeout time.Duration
	Profile *profile.Profile // nil: the embedded default profile
	DB      string           // the host's ledger; empty: a new file for this run
	Seed    uint64
	Output  io.Writer
	Logger  *slog.Logger
	TempDir string
}

// DefaultCertifyTimeout is how long a prompt waits for the terminal: a
// person needs time to key a sale, present a card and type a PIN.
const DefaultCertifyTimeout = 60 * time.Second

// certifySession is what the cases of one certify run share: the host,
// the log of what it received and answered, and what earlier cases left
// that later ones refer to (the last approved sale, for a void).
type certifySession struct {
	opts CertifyOptions
	host *acquirer.Host
	log  *acquirer.RequestLog
	addr string
}

// RunCertify starts the host on o.Listen and runs the plan against the
// terminal that connects to it, one case after another.
func RunCertify(ctx context.Context, o CertifyOptions) (*Result, error) {
	if len(o.Plan) == 0 {
		return nil, fmt.Errorf("certify: no plan: give --plan DIR (e.g. features/certify)")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultCertifyTimeout
	}
	if o.Output == nil {
		o.Output = os.Stdout
	}
	if o.Console == nil {
		o.Console = o.Output
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Profile == nil {
		o.Profile = profile.Default()
	}
	if err := checkPaths(o.Plan); err != nil {
		return nil, err
	}
	db := o.DB
	if db == "" {
		dir, err := os.MkdirTemp(o.TempDir, "possim-certify-")
		if err != nil {
			return nil, fmt.Errorf("certify: %w", err)
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "host.db")
	}
	// Listen before opening the ledger: a port in use leaves no file behind.
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("certify: listening on %s: %w", o.Listen, err)
	}
	defer ln.Close()
	led, err := ledger.Open(ctx, db, ledger.Options{Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("certify: host ledger %s: %w", db, err)
	}
	defer led.Close()
	seed := o.Seed
	h, err := acquirer.New(ctx, acquirer.Config{Profile: o.Profile, Ledger: led, Logger: o.Logger,
		Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))})
	if err != nil {
		return nil, fmt.Errorf("certify: %w", err)
	}
	s := &certifySession{opts: o, host: h, log: h.RecordRequests(0)}
	if err := h.StartListener(ln); err != nil {
		h.Close()
		return nil, fmt.Errorf("certify: %w", err)
	}
	s.addr = h.Addr()
	fmt.Fprintf(o.Output, "possim certify: host listening on %s; point the terminal under test at it\n", s.addr)
	res, err := Run(ctx, Options{Paths: o.Plan, Tags: o.Tags, Format: o.Format, HTML: o.HTML, Seed: seed,
		Concurrency: 1, Output: o.Output, Logger: o.Logger, TempDir: o.TempDir, certify: s})
	if cerr := h.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("certify: closing the host: %w", cerr)
	}
	return res, err
}

type certKey struct{}

// certCase is one case's state: when it began and what its prompts found.
type certCase struct {
	s      *certifySession
	start  time.Time
	report *harness.ScenarioReport
	last   *acquirer.Event // the request the last prompt waited for
	// prompted is when the last prompt was given: the checks of what the
	// terminal did for it (PIN entries, idle echoes) start there.
	prompted time.Time
	// reversal is the first reversal of a sale the case found: the repeat
	// and ordering checks follow it.
	reversal *acquirer.Event
	notes    []string // evidence besides the messages (operator output)
}

func certCaseOf(ctx context.Context) *certCase {
	cc, _ := ctx.Value(certKey{}).(*certCase)
	if cc == nil {
		panic("scenarios: certify step run outside possim certify")
	}
	return cc
}

// initializeCertify is initialize for a certify run: the certify steps,
// the host reset before each case, and the wire as the case's evidence.
func (c *collector) initializeCertify(sc *godog.ScenarioContext) {
	s := c.opts.certify
	for _, st := range certifySteps() {
		sc.Step(st.Pattern, st.Fn)
	}
	sc.Before(func(ctx context.Context, g *godog.Scenario) (context.Context, error) {
		r := &harness.ScenarioReport{Name: g.Name, URI: g.Uri, Feature: featureName(g.Uri), Status: "passed"}
		c.mu.Lock()
		c.byID[g.Id] = r
		c.ast[g.Id] = g.AstNodeIds
		c.order = append(c.order, g.Id)
		c.mu.Unlock()
		if err := s.reset(); err != nil {
			return ctx, err
		}
		cc := &certCase{s: s, start: time.Now(), report: r}
		return context.WithValue(ctx, certKey{}, cc), nil
	})
	sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
		cc, _ := ctx.Value(certKey{}).(*certCase)
		c.mu.Lock()
		defer c.mu.Unlock()
		sr := harness.StepReport{Text: st.Text, Status: status.String()}
		if err != nil {
			sr.Error = err.Error()
		}
		if status == godog.StepUndefined && cc != nil {
			c.undefined = append(c.undefined, undefinedStep{text: st.Text, uri: cc.report.URI, step: st})
		}
		if cc == nil {
			return ctx, nil
		}
		addStep(cc.report, sr, status, err)
		return ctx, nil
	})
	sc.After(func(ctx context.Context, g *godog.Scenario, err error) (context.Context, error) {
		cc, _ := ctx.Value(certKey{}).(*certCase)
		if cc == nil {
			return ctx, nil
		}
		r := cc.report
		if err != nil && r.Status == "passed" {
			r.Status, r.Error = "failed", err.Error()
		}
		evs := cc.events()
		r.Ladder = ladderOf(cc.start, evs)
		r.Evidence = append(evidenceOf(evs), cc.notes...)
		return ctx, s.reset()
	})
}

// reset puts the host back to serving every request as the profile says:
// no faults, out of maintenance, every card's PIN tries cleared.
func (s *certifySession) reset() error {
	if _, err := s.host.SetFaults(nil); err != nil {
		return fmt.Errorf("resetting the host: %w", err)
	}
	s.host.SetMaintenance(acquirer.MaintenanceOff)
	for _, c := range s.host.Cards() {
		if err := s.host.ResetPINTries(c.Alias); err != nil {
			return fmt.Errorf("resetting the host: %w", err)
		}
	}
	return nil
}

// events are the messages of the case so far, oldest first.
func (cc *certCase) events() []acquirer.Event {
	return cc.s.log.Query(acquirer.RequestFilter{Since: cc.start})
}

// ladderOf draws the case's messages as the report's ladder: what the
// host received is what the terminal sent.
func ladderOf(start time.Time, evs []acquirer.Event) []harness.Event {
	out := make([]harness.Event, 0, len(evs))
	for i, ev := range evs {
		e := harness.Event{Seq: i + 1, At: ev.Time.Sub(start), Source: "host", MTI: ev.MTI, Code: ev.RespCode, Fields: ev.Fields}
		switch {
		case ev.Dir == "in":
			e.Kind = "iso_out"
		case notSent(ev):
			e.Kind, e.Text = "iso_lost", "not answered: "+ev.Note
		default:
			e.Kind = "iso_in"
		}
		out = append(out, e)
	}
	return out
}

// notSent says the host decided an answer but a fault kept it off the wire.
func notSent(ev acquirer.Event) bool { return strings.Contains(ev.Note, "not sent") }
