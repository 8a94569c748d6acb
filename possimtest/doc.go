// Package possimtest puts possim's mock acquirer, virtual devices,
// virtual terminal and whole lab inside a Go test, the way net/http/httptest
// puts an HTTP server there.
//
// Every constructor takes a testing.TB, builds its part in t.TempDir() on
// real loopback TCP, real ptys and a real SQLite ledger, fails the test if
// it cannot, and registers its Close with t.Cleanup: the part is closed, and
// its goroutines have ended, before the temporary directory is removed.
//
//	host := possimtest.NewHost(t)
//	term := possimtest.NewTerminal(t, host.Addr())
//	res, err := term.Sale(ctx, possimtest.Sale{Amount: 1234, Card: "visa-credit", PIN: "1234"})
//
// NewHost is the acquirer for a terminal, switch or integration under test;
// NewDevices the card reader, PIN pad, printer and scanner for POS software
// that opens serial ports; NewTerminal a terminal for a host under test;
// NewLab all three joined, as `possim run` builds them.
//
// The methods that act at run time (faults, card statuses, device actions,
// transactions) return errors rather than failing the test, so they may be
// called from any goroutine.
//
// This package and scenarios.Register are possim's stable library surface
// (docs/library.md). The escape hatches that return possim's internal types
// (Host.Acquirer, Lab.Harness, Ledger.Raw) are not covered by that promise.
package possimtest
