package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/possim/possim/harness"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
	"github.com/possim/possim/simulators/trace"
)

func init() { register("host", "run the mock acquirer host", runHost) }

const hostExample = `possim host --listen 127.0.0.1:8583 --db host.db --faults faults.yaml --trace trace.jsonl
  possim host --listen 127.0.0.1:8583=possim87 --listen 127.0.0.1:8584=cup --db host.db`

// hostGCPercent is the host's garbage collector target unless GOGC says
// otherwise. Its live heap is a few megabytes, so at Go's default (100) it
// collects some 40 times a second under load; at 400 the heap stays under
// 40 MB and the host spends about 5 % less CPU per sale (docs/BENCHMARKS.md).
const hostGCPercent = 400

func setHostGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(hostGCPercent)
	}
}

func runHost(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "host", hostExample)
	var listen listenFlag
	fs.Var(&listen, "listen", "`ADDR[=DIALECT]` to listen on (default "+defaultListen+"); repeat it to serve terminals of several dialects, each on its own address (a bare ADDR speaks --dialect)")
	db := fs.String("db", "", "ledger database `PATH` (created if missing), or a postgres://user@host:port/database URL shared by several hosts")
	profPath := fs.String("profile", "", "profile `FILE` (default: the embedded default profile)")
	faultsPath := fs.String("faults", "", "fault `FILE` (YAML or JSON) installed at start")
	tracePath := fs.String("trace", "", "write a JSONL message trace to `FILE` (card data masked)")
	specName := fs.String("spec", "possim87", "ISO 8583 spec `NAME` or moov spec file")
	dialectName := fs.String("dialect", "", dialectUsage)
	seed := fs.Uint64("seed", 0, "random `SEED` for RRNs, auth codes and session keys (0: from the clock)")
	maxConns := fs.Int("max-conns", 0, "most open `N` connections; more are refused with a log line (0: the open-file limit less "+strconv.Itoa(fdHeadroom)+")")
	idleTimeout := fs.Duration("idle-timeout", 0, "close a connection that sends nothing for this `long` (0: never)")
	readTimeout := fs.Duration("read-timeout", 30*time.Second, "close a connection whose frame has not fully arrived this `long` after its first byte")
	writeTimeout := fs.Duration("write-timeout", 10*time.Second, "close a connection that does not read its response within this `long`")
	statsEvery := fs.Duration("stats-every", 0, "log heap, RSS, goroutines, connections and group commits every `D` (0: never)")
	requireSignOn := fs.Bool("require-sign-on", false, "decline (58) transactions from terminals that have not signed on")
	verbose := fs.Bool("v", false, "log every connection and message decision")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the host to `FILE` (performance work)")
	playbackPath := fs.String("playback", "", "answer like the recording in `FILE` (a trace possim trace show reads)")
	matchKey := fs.String("match", "", "`KEYS` a request matches a recorded one by, with --playback (default "+trace.DefaultMatch+")")
	playbackMiss := fs.String("playback-miss", "", "with --playback, answer requests the recording lacks with `CODE` (default: the normal rules)")
	adminAddr := fs.String("admin", "", "serve the HTTP+JSON admin API (docs/host-api.md) on `ADDR`; loopback unless POSSIM_TOKEN is set")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *db == "" {
		return usageErr("--db PATH is required (the ledger file, or a postgres:// URL)")
	}
	setHostGC()
	if *maxConns < 0 {
		return usageErr("--max-conns %d: want a positive number, or 0 for the open-file limit less %d", *maxConns, fdHeadroom)
	}
	prof := profile.Default()
	if *profPath != "" {
		p, err := profile.Load(*profPath)
		if err == nil {
			err = acquirer.CheckProfile(p)
		}
		if err != nil {
			return usageErr("%v", err)
		}
		prof = p
	}
	var faults []acquirer.Fault
	if *faultsPath != "" {
		f, err := acquirer.LoadFaults(*faultsPath)
		if err != nil {
			return usageErr("%v", err)
		}
		faults = f
	}
	wire, err := loadWire(*dialectName, *specName)
	if err != nil {
		return usageErr("%v", err)
	}
	playback, err := loadPlayback(*playbackPath, *matchKey, *playbackMiss, wire)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	var trace io.Writer
	if *tracePath != "" {
		f, err := os.OpenFile(*tracePath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return usageErr("trace file: %v", err)
		}
		defer f.Close()
		trace = f
	}
	s := *seed
	if s == 0 {
		// Drawn from the clock: said where it is always seen, so a run
		// can be repeated with --seed.
		s = rand.Uint64()
		fmt.Fprintf(env.Stdout, "possim host random seed %d (repeat with --seed %d)\n", s, s)
	}
	log.Info("random seed", "seed", s)
	conns, limit := *maxConns, uint64(0)
	if conns == 0 {
		conns, limit = defaultMaxConns()
	}
	log.Info("connection limit", "max_conns", conns, "open_file_limit", limit)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return usageErr("cpu profile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return failErr("cpu profile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	// Listen before opening the ledger: a port already in use must not
	// leave a new, empty database behind.
	if len(listen) == 0 {
		listen = listenFlag{{addr: defaultListen}}
	}
	lns := make([]net.Listener, len(listen))
	for i, l := range listen {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return usageErr("listening on %s: %v", l.addr, err)
		}
		defer ln.Close()
		lns[i] = ln
	}
	led, err := ledger.Open(ctx, *db, ledger.Options{Logger: log})
	if err != nil {
		return ledgerErr(err)
	}
	defer led.Close()
	h, err := acquirer.New(ctx, acquirer.Config{Profile: prof, Ledger: led, Dialect: wire, Logger: log, Trace: trace,
		Rand: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)), MaxConns: conns, IdleTimeout: *idleTimeout,
		ReadTimeout: *readTimeout, WriteTimeout: *writeTimeout, RequireSignOn: *requireSignOn, Faults: faults,
		Playback: playback, PlaybackMiss: *playbackMiss})
	if err != nil {
		return failErr("%v", err)
	}
	var adm *harness.HostAdmin // closed before the host, so no change lands on a closing host
	if *adminAddr != "" {
		token := ""
		if env.Getenv != nil {
			token = env.Getenv("POSSIM_TOKEN")
		}
		adm = harness.NewHostAdmin(harness.HostAdminConfig{Host: h, ProfilePath: *profPath, Token: token, Logger: log.With("part", "admin")})
		if err := adm.Start(*adminAddr); err != nil {
			h.Close()
			return usageErr("--admin: %v", err)
		}
		defer adm.Close()
		fmt.Fprintf(env.Stdout, "possim host admin API on http://%s\n", adm.Addr())
	}
	for i, ln := range lns {
		if err := h.StartListenerDialect(ln, listen[i].dialect); err != nil {
			return failErr("%v", err)
		}
		// Scripts read the address up to the end of the line: a bare
		// --listen keeps the line as it always was.
		if d := listen[i].dialect; d != nil {
			fmt.Fprintf(env.Stdout, "possim host listening on %s (%s)\n", ln.Addr(), d.Name)
		} else {
			fmt.Fprintf(env.Stdout, "possim host listening on %s\n", ln.Addr())
		}
	}
	if *statsEvery > 0 {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			logStats(ctx, stop, slog.New(slog.NewTextHandler(env.Stderr, nil)), h, led, *statsEvery)
		}()
		defer func() { close(stop); <-done }()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-h.Err():
	}
	if adm != nil {
		adm.Close()
	}
	if err := h.Close(); err != nil {
		return failErr("closing host: %v", err)
	}
	if serveErr != nil {
		return failErr("%v", serveErr)
	}
	if err := led.Close(); err != nil {
		return failErr("%v", err)
	}
	fmt.Fprintln(env.Stdout, "possim host stopped")
	return nil
}

// fdHeadroom is how many file descriptors the default connection limit
// leaves for the ledger (a writer and eight readers, each with its WAL),
// the trace, the log and the listener.
const fdHeadroom = 32

// defaultMaxConns derives the connection limit from the open-file limit, so
// a flood is refused politely at the limit rather than running the process
// out of descriptors (where the ledger could not open a file either). It
// returns 0 (no cap) when the limit cannot be read or is unlimited.
func defaultMaxConns() (int, uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0
	}
	return maxConnsFor(rl.Cur), rl.Cur
}

func maxConnsFor(limit uint64) int {
	switch {
	case limit > math.MaxInt32:
		return 0
	case limit <= fdHeadroom+1:
		return 1
	}
	return int(limit - fdHeadroom)
}

// ledgerErr maps ledger errors to exit codes: a database another process
// holds is a failure (1); any other file the ledger cannot open (missing
// directory, a directory, not a database, corrupt) is bad input (2).
func ledgerErr(err error) error {
	if errors.Is(err, ledger.ErrLocked) {
		return failErr("%v", err)
	}
	return usageErr("%v", err)
}

// logStats logs the host's memory, goroutines, connections and group
// commits every d until stop closes, for soak runs: flat heap and goroutine
// counts under steady load are the sign that nothing leaks.
func logStats(ctx context.Context, stop <-chan struct{}, log *slog.Logger, h *acquirer.Host, led *ledger.Ledger, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	var lastCommits, lastRecords int64
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		st := h.Stats()
		commits, records := led.Commits()
		batch := 0.0
		if commits > lastCommits {
			batch = float64(records-lastRecords) / float64(commits-lastCommits)
		}
		lastCommits, lastRecords = commits, records
		log.Info("host stats", "heap_mb", ms.HeapAlloc>>20, "sys_mb", ms.Sys>>20, "rss_mb", rssMB(),
			"goroutines", runtime.NumGoroutine(), "conns", st.Conns, "accepted", st.Accepted,
			"records", records, "records_per_commit", strconv.FormatFloat(batch, 'f', 1, 64))
	}
}

// rssMB is the process's resident set from /proc (Linux); -1 elsewhere.
func rssMB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb >> 10
			}
		}
	}
	return -1
}
