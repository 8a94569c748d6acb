// Package harness assembles a lab from a profile: the mock acquirer host
// and its ledger, the link between terminal and host with its faults, the
// virtual terminal and the four virtual devices, in virtual mode
// (in-memory links, deterministic, virtual time under testing/synctest),
// wired mode (loopback TCP and real ptys) or external mode (a real host
// address). It also records one timeline of everything the lab sees,
// renders reports, and serves the control API. Simulators and devices never
// import it; cmd/possim and scenarios/ do.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API (Config, Lab, the reports and the control API's
// Go types); use possimtest from Go and the control API over HTTP
// (docs/control-api.md).
package harness
