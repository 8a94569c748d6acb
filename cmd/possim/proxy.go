package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/possim/possim/simulators/proxy"
)

func init() {
	register("proxy", "run a TCP fault proxy with Toxiproxy's API and ISO 8583 toxics", runProxy)
}

const proxyExample = `possim proxy --api 127.0.0.1:8474 --listen 127.0.0.1:9583 --upstream 127.0.0.1:8583 --trace proxy.jsonl`

func runProxy(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "proxy", proxyExample)
	api := fs.String("api", "127.0.0.1:8474", "`ADDR` of the Toxiproxy HTTP API")
	listen := fs.String("listen", "", "`ADDR` the terminal connects to (with --upstream: creates the proxy named possim)")
	upstream := fs.String("upstream", "", "host `ADDR` the proxy connects to (with --listen)")
	tracePath := fs.String("trace", "", "write a JSONL message trace to `FILE`, as possim host --trace does (card data masked)")
	verbose := fs.Bool("v", false, "log Toxiproxy's warnings and errors")
	dialectName := fs.String("dialect", "", dialectUsage+"; the ISO toxics and --trace read messages in it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if (*listen == "") != (*upstream == "") {
		return usageErr("--listen and --upstream go together (both or neither): the proxy possim needs both ends")
	}
	wire, err := loadWire(*dialectName, "")
	if err != nil {
		return usageErr("%v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		log = slog.New(slog.NewTextHandler(env.Stderr, nil))
	}
	var trace io.Writer
	if *tracePath != "" {
		f, err := os.OpenFile(*tracePath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return usageErr("trace file: %v", err)
		}
		defer f.Close()
		trace = f
	}
	s := proxy.New(proxy.Config{Logger: log, Trace: trace, Dialect: wire})
	if err := s.Start(*api); err != nil {
		return usageErr("%v", err)
	}
	if *listen != "" {
		addr, err := s.AddProxy("possim", *listen, *upstream)
		if err != nil {
			s.Close()
			return usageErr("%v", err)
		}
		fmt.Fprintf(env.Stdout, "possim proxy possim: %s -> %s\n", addr, *upstream)
	}
	fmt.Fprintf(env.Stdout, "possim proxy API on %s\n", s.Addr())
	<-ctx.Done()
	if err := s.Close(); err != nil {
		return failErr("closing proxy: %v", err)
	}
	fmt.Fprintln(env.Stdout, "possim proxy stopped")
	return nil
}
