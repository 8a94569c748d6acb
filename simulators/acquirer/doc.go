// Package acquirer is possim's mock acquirer host: it serves the possim87
// ISO 8583 catalogue of docs/host.md to any number of terminals, decides each
// request with issuer rules taken from the profile (card book, merchant and
// terminal registry, limits, PIN, EMV cryptograms), journals every decision
// in the ledger before answering, and lets tests and operators inject
// message-level faults at run time. It serves any net.Listener or single
// net.Conn, so the same host runs over loopback TCP and over in-memory pipes
// inside testing/synctest bubbles.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API (Config, Host and their methods), except the
// fields of Fault and Match, which are those of the stable --faults file;
// use possimtest.Host from Go and the admin API (docs/host-api.md).
package acquirer
