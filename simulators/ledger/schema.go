package ledger

// schemaVersion is stored in PRAGMA user_version; Open refuses a file written
// by a newer schema rather than guessing, and brings an older one up to date
// (see migrations).
//
//	1: the first schema
//	2: merchants.unref_limit, the merchant's unreferenced refund limit
const schemaVersion = 2

// The journal keeps every request (entries), the money movements they cause
// (postings), the merchant accounts and the per-card daily usage the issuer
// rules read. Times are Unix nanoseconds; money is integer fen.
//
// A posting's origin is the financial entry (sale, refund...) whose money it
// moves, and entry_id the entry that caused it (the sale itself, a void, a
// reversal); undoing an entry is computed from the state of its origin's
// postings, so void -> reversal of the void -> void again stays consistent.
const schemaSQL = `
CREATE TABLE IF NOT EXISTS merchants (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	mode        TEXT NOT NULL,
	realtime    TEXT NOT NULL,
	rt_per_txn  INTEGER NOT NULL,
	rt_daily    INTEGER NOT NULL,
	card_bps    INTEGER NOT NULL,
	qr_bps      INTEGER NOT NULL,
	balance     INTEGER NOT NULL DEFAULT 0,
	unref_limit INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS entries (
	id         INTEGER PRIMARY KEY,
	tid        TEXT NOT NULL,
	stan       TEXT NOT NULL,
	date       TEXT NOT NULL,
	cls        TEXT NOT NULL,
	mti        TEXT NOT NULL,
	proc       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	merchant   TEXT NOT NULL,
	pan        TEXT NOT NULL,
	card_ref   TEXT NOT NULL,
	method     TEXT NOT NULL,
	amount     INTEGER NOT NULL,
	currency   TEXT NOT NULL,
	resp       TEXT NOT NULL,
	auth       TEXT NOT NULL,
	rrn        TEXT NOT NULL,
	batch      TEXT NOT NULL,
	orig_tid   TEXT,
	orig_stan  TEXT,
	orig_date  TEXT,
	orig_id    INTEGER,
	undone_by  INTEGER,
	time_ns    INTEGER NOT NULL,
	UNIQUE (tid, stan, date, cls)
);
CREATE INDEX IF NOT EXISTS entries_merchant_time ON entries (merchant, time_ns);
-- A terminal's batch is read through the unique key's tid prefix: an index
-- on (tid, batch) cost every sale a page per terminal in each commit (with
-- 32 terminals, a third of the WAL frames) for a read once per batch.
DROP INDEX IF EXISTS entries_tid_batch;
-- approved reversals still waiting for their original (see Result.LateReversed)
CREATE INDEX IF NOT EXISTS entries_orphans ON entries (id)
	WHERE kind = 'reversal' AND resp = '00' AND orig_id IS NULL;
-- the refunds that name an original, to sum what is left to refund of it
CREATE INDEX IF NOT EXISTS entries_refund_orig ON entries (orig_tid, orig_stan, orig_date)
	WHERE kind = 'refund';
CREATE TABLE IF NOT EXISTS postings (
	id        INTEGER PRIMARY KEY,
	merchant  TEXT NOT NULL,
	entry_id  INTEGER NOT NULL,
	origin    INTEGER NOT NULL,
	type      TEXT NOT NULL,
	gross     INTEGER NOT NULL,
	fee       INTEGER NOT NULL,
	net       INTEGER NOT NULL,
	bps       INTEGER NOT NULL,
	time_ns   INTEGER NOT NULL,
	ref       INTEGER,
	open      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS postings_merchant_time ON postings (merchant, time_ns);
CREATE INDEX IF NOT EXISTS postings_origin ON postings (origin);
CREATE INDEX IF NOT EXISTS postings_open ON postings (time_ns) WHERE open = 1;
CREATE TABLE IF NOT EXISTS card_days (
	card_ref      TEXT NOT NULL,
	day           TEXT NOT NULL,
	debit_count   INTEGER NOT NULL,
	debit_amount  INTEGER NOT NULL,
	credit_amount INTEGER NOT NULL,
	PRIMARY KEY (card_ref, day)
) WITHOUT ROWID;
`

// migrations add to a file of an older version what schemaSQL, which only
// creates missing tables, cannot: each runs when the file lacks its column,
// in the transaction that creates the schema.
var migrations = []struct {
	table, column, sql string
}{
	// Version 1 files hold no limit: 0 allows no unreferenced refund, as
	// the profile's default does; the host stores the profile's limit when
	// it registers its merchants.
	{"merchants", "unref_limit", "ALTER TABLE merchants ADD COLUMN unref_limit INTEGER NOT NULL DEFAULT 0"},
}

// origCols are the columns scanOrig reads, in order.
const origCols = `id, kind, resp, merchant, card_ref, amount, time_ns, orig_id, undone_by, orig_tid IS NOT NULL`

// entryCols are the columns scanEntry reads, in order.
const entryCols = `tid, stan, date, mti, proc, kind, merchant, pan, card_ref, method, amount, currency,
	resp, auth, rrn, batch, orig_tid, orig_stan, orig_date, time_ns`
