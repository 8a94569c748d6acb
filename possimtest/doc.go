// Package possimtest puts possim's mock acquirer, virtual devices,
// virtual terminal and whole lab inside a Go test, the way net/http/httptest
// puts an HTTP server there.
//
// Every constructor takes a testing.TB, builds its part in t.TempDir() on
// real loopback TCP, real ptys and a real SQLite ledger, fails the test if
// it cannot, and registers its Close with t.Cleanup: the part is closed, and
// its goroutines have ended, before the temporary directory is removed.
//
// NewHost is the acquirer for a terminal, switch or integration under test;
// NewDevices the card reader, PIN pad, printer and scanner for POS software
// that opens serial ports; NewTerminal a terminal for a host under test;
// NewLab all three joined, as `possim run` builds them.
//
// # A sale
//
// A host and a terminal facing it; the sale is a Result, approved or not:
//
//	host := possimtest.NewHost(t)
//	term := possimtest.NewTerminal(t, host.Addr())
//	res, err := term.Sale(t.Context(), possimtest.Sale{Amount: 1234, Card: "visa-credit", PIN: "1234"})
//	// err: no transaction at all; res.Status: approved, declined, reversed...
//
// Cards are the aliases of the profile (WithProfile; the default profile's
// are visa-credit, mc-debit, cup-debit, lost, expired...). Amounts are in
// minor units. WithSeed fixes RRNs, authorisation codes and cryptograms.
//
// # Making the host misbehave
//
// Host.SetFault programs a decline, a delay, a dropped or garbled answer,
// with the fields of a --faults file; Host.SetCardStatus reports a card
// lost, stolen or blocked at the issuer; Host.Maintenance answers 91 or
// refuses connections. Each applies to the next request:
//
//	host.SetCardStatus("visa-credit", "lost")
//	res, _ = term.Sale(ctx, possimtest.Sale{Amount: 2500, Card: "visa-credit", PIN: "1234"})
//	// res.Status == "declined", res.ResponseCode == "41"
//
// # What the host saw, and its ledger
//
// Host.Requests lists every message the host received with its answer,
// card data masked, each field named and its code explained. Host.Ledger
// gives a merchant's Balance and day's Statement, and Verify checks every
// invariant of the journal: run it at the end of a test that moves money.
//
// # Devices and the whole lab
//
// NewDevices gives POS software the four devices on ptys (Devices.Path);
// the test plays the customer with Insert, Tap, EnterPIN, Scan and reads
// the receipts with Printed. NewLab joins a host, devices and a terminal,
// in memory unless Wired is given. An in-memory lab also runs inside a
// testing/synctest bubble, its timeouts on the bubble's clock.
//
// # Gherkin
//
// scenarios.Register puts possim's steps into a godog suite next to the
// suite's own; UseLab with Lab.Harness runs them against a lab built here.
// The repository's examples/godog-suite is a module to copy that does both.
//
// The methods that act at run time (faults, card statuses, device actions,
// transactions) return errors rather than failing the test, so they may be
// called from any goroutine.
//
// This package and scenarios.Register are possim's stable library surface
// (docs/library.md). The escape hatches that return possim's internal types
// (Host.Acquirer, Lab.Harness, Ledger.Raw) are not covered by that promise.
package possimtest
