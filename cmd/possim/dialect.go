package main

import (
	"fmt"

	"github.com/possim/possim/simulators/iso"
)

// dialectUsage is the help text of every --dialect flag.
const dialectUsage = "wire `NAME|FILE`: possim87 (default), ascii4, nac, cup, or a dialect file (docs/dialects.md)"

// loadWire resolves --dialect and the older --spec into one dialect: a
// dialect names its own spec, so giving both is refused.
func loadWire(dialect, spec string) (*iso.Dialect, error) {
	if dialect != "" && spec != "" && spec != "possim87" {
		return nil, fmt.Errorf("--dialect %s and --spec %s: a dialect names its spec; give one of them", dialect, spec)
	}
	if dialect != "" {
		return iso.LoadDialect(dialect)
	}
	s, err := iso.LoadSpec(spec)
	if err != nil {
		return nil, err
	}
	return iso.WithSpec(s), nil
}
