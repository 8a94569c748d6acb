// Package ledger is the mock acquirer host's durable journal and merchant
// accounts, kept in one SQLite file (modernc.org/sqlite, WAL, synchronous=FULL).
// Every authorisation, reversal and advice is journaled, and the settlement
// postings of an approved one (D0 credit, T+1 pending, reversals) are written in
// the same transaction, so the host may approve only after Record returns.
// A single committer goroutine groups many Record calls into one transaction
// (group commit), which is what lets one fsync serve thousands of sales a second.
//
// This package is not covered by the stability promise of docs/library.md;
// experimental: its Go API and its database schema; use possimtest.Ledger
// from Go.
package ledger
