package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/possim/possim/simulators/iso"
)

// defaultListen is where possim host listens when --listen is not given.
const defaultListen = "127.0.0.1:8583"

// listenAddr is one --listen: an address, and the dialect its connections
// speak when the flag names one (nil: the host's --dialect).
type listenAddr struct {
	addr    string
	dialect *iso.Dialect
}

// listenFlag is the repeatable --listen ADDR[=DIALECT] of possim host.
type listenFlag []listenAddr

func (f *listenFlag) String() string {
	if f == nil {
		return ""
	}
	var parts []string
	for _, l := range *f {
		if l.dialect != nil {
			parts = append(parts, l.addr+"="+l.dialect.Name)
		} else {
			parts = append(parts, l.addr)
		}
	}
	return strings.Join(parts, ",")
}

// Set reads one ADDR or ADDR=DIALECT. The dialect is loaded at once, so an
// unknown one is a usage error naming the valid ones; an address given
// twice is refused, except a port 0, which picks a free port each time.
func (f *listenFlag) Set(s string) error {
	addr, name, named := strings.Cut(s, "=")
	if addr == "" {
		return fmt.Errorf("%q: no address; want ADDR or ADDR=DIALECT", s)
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	} else if port != "0" {
		for _, l := range *f {
			if l.addr == addr {
				return fmt.Errorf("address %s given twice", addr)
			}
		}
	}
	l := listenAddr{addr: addr}
	if named {
		if name == "" {
			return fmt.Errorf("%q: no dialect after '='; built-in dialects: %s, or a dialect file", s, strings.Join(iso.BuiltinDialects(), ", "))
		}
		d, err := iso.LoadDialect(name)
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		l.dialect = d
	}
	*f = append(*f, l)
	return nil
}
