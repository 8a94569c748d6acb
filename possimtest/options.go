package possimtest

import (
	"log/slog"

	"github.com/possim/possim/profile"
)

// Option configures a constructor. An option a constructor has no use for
// is ignored (a seed means nothing to a terminal's host, for example),
// except where its doc says otherwise.
type Option func(*config)

type config struct {
	profile       *profile.Profile
	seed          uint64
	logger        *slog.Logger
	requireSignOn bool
	wired         bool
	noSignOn      bool
}

func newConfig(opts []Option) config {
	c := config{seed: 1}
	for _, o := range opts {
		o(&c)
	}
	if c.profile == nil {
		c.profile = profile.Default()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// WithProfile builds the part from p instead of the embedded default
// profile (Demo Mart, TERM0001, the test cards). profile.Load reads one
// from a file.
func WithProfile(p *profile.Profile) Option { return func(c *config) { c.profile = p } }

// WithSeed seeds what the part draws at random (RRNs, authorisation codes,
// the card reader's unpredictable numbers), so that a test sees the same
// values run after run. The default seed is 1.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithLogger sends the part's logs to l; by default they are discarded.
// Card data is masked in them.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// RequireSignOn makes the host decline (58) every transaction of a
// terminal that has not signed on, as a strict acquirer does. NewHost only;
// NewLab fails the test when given it, since its host cannot take it yet.
func RequireSignOn() Option { return func(c *config) { c.requireSignOn = true } }

// Wired makes NewLab join its parts over loopback TCP and real ptys, as
// `possim run` does for a scenario tagged @wired; without it the lab's
// links are in memory and Host.Addr and Devices.Path are empty.
func Wired() Option { return func(c *config) { c.wired = true } }

// NoSignOn leaves the terminal of NewTerminal and NewLab powered on but
// not signed on, for a test of the sign-on itself (Terminal.SignOn).
func NoSignOn() Option { return func(c *config) { c.noSignOn = true } }
