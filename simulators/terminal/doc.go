// Package terminal is possim's virtual POS terminal: the merchant flow of
// docs/merchant-flow.md §3-5 as a state machine over device drivers and an ISO
// 8583 client. It drives only the POS-side drivers of virtualdevices/* (so
// a real printer or PIN pad on a serial port works the same) and talks to
// any host through github.com/moov-io/iso8583-connection, so it can face our
// mock acquirer or a real one. Every state change, display text, message
// (masked), alert and receipt is reported as an Event for recorders,
// Gherkin steps and dashboards.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API and its Event types; use possimtest.Terminal from
// Go.
package terminal
