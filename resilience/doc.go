// Package resilience proves that the host loses nothing under faults and
// abuse. CrashLoop kills a host process with SIGKILL at random moments under
// load, restarts it on the same ledger, and checks after every kill that
// each approval a terminal received is journaled, that the ledger's
// invariants hold (no doubled posting, reversals applied at most once,
// balances equal to their postings) and, at the end, that the merchant's
// balance is exactly what the terminals' view of their sales says. The
// tests beside it run the crash loop briefly and abuse a host with idle,
// slow, deaf and malformed clients.
package resilience
