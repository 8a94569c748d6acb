package ledger

import (
	"context"
	"fmt"
	"strconv"
)

// Verify rules, as Breach.Rule.
const (
	RuleBalance       = "balance"          // a merchant's balance is the sum of its postings
	RulePostingDouble = "posting_doubled"  // an entry posts each type once; a pending is settled once
	RuleReversalOnce  = "reversal_once"    // an entry's money is taken back at most once
	RuleD0Approved    = "d0_approved"      // a D0 credit belongs to an approved sale
	RuleFee           = "fee_arithmetic"   // fee = rate of gross rounded half up; net = gross - fee
	RulePendingState  = "pending_state"    // a pending posting is open exactly until settled or cancelled
	RuleRefundBound   = "refund_bound"     // no sale is refunded or voided beyond its amount
	RuleRefundRef     = "refund_reference" // a refund by reference names an approved sale of the same card
	// RuleUnreferencedRefund: an approved refund naming no sale is at most
	// its merchant's unreferenced refund limit.
	RuleUnreferencedRefund = "refund_unreferenced"
)

type check struct {
	rule  string
	query string
	// detail formats one row of the query; the columns are scanned as int64
	// or string as the format needs.
	detail func(cols []any) string
	ncols  int
}

// Verify checks the ledger's invariants by reading it whole and returns the
// breaches found; none means the ledger is consistent.
func (l *Ledger) Verify(ctx context.Context) ([]Breach, error) {
	var out []Breach
	str := func(v any) string { return fmt.Sprint(v) }
	checks := []check{
		{RuleBalance, `SELECT id, balance, total FROM (SELECT m.id, m.balance, COALESCE((SELECT SUM(CASE p.type
			WHEN 'd0_credit' THEN p.net WHEN 't1_credit' THEN p.net WHEN 'reverse_d0' THEN -p.net ELSE 0 END)
			FROM postings p WHERE p.merchant = m.id), 0) AS total FROM merchants m) b WHERE balance != total`,
			func(c []any) string {
				return fmt.Sprintf("merchant %s: balance %v, postings add up to %v", str(c[0]), c[1], c[2])
			}, 3},
		{RuleBalance, `SELECT p.id, p.merchant FROM postings p LEFT JOIN merchants m ON m.id = p.merchant
			WHERE m.id IS NULL`,
			func(c []any) string { return fmt.Sprintf("posting %v: unknown merchant %s", c[0], str(c[1])) }, 2},
		{RulePostingDouble, `SELECT p.entry_id, p.type, COUNT(*), e.tid || '/' || e.stan || '/' || e.date
			FROM postings p LEFT JOIN entries e ON e.id = p.entry_id GROUP BY p.entry_id, p.type, e.id HAVING COUNT(*) > 1`,
			func(c []any) string {
				return fmt.Sprintf("entry %s posted %s %v times", str(c[3]), str(c[1]), c[2])
			}, 4},
		{RulePostingDouble, `SELECT ref, COUNT(*) FROM postings WHERE type IN ('t1_credit', 'cancel_t1')
			GROUP BY ref HAVING COUNT(*) > 1`,
			func(c []any) string {
				return fmt.Sprintf("pending posting %v settled or cancelled %v times", c[0], c[1])
			}, 2},
		{RuleReversalOnce, `SELECT k, undone, own, live FROM (SELECT e.tid || '/' || e.stan || '/' || e.date AS k,
			CASE WHEN e.undone_by IS NOT NULL THEN 1 ELSE 0 END AS undone,
			COALESCE(SUM(CASE WHEN p.entry_id = e.id AND p.type IN ('d0_credit', 't1_pending') THEN p.net
				WHEN p.entry_id = e.id AND p.type = 'reverse_d0' THEN -p.net ELSE 0 END), 0) AS own,
			COALESCE(SUM(CASE WHEN p.type IN ('d0_credit', 't1_credit') THEN p.net WHEN p.type = 'reverse_d0' THEN -p.net
				WHEN p.type = 't1_pending' AND p.open = 1 THEN p.net ELSE 0 END), 0) AS live
			FROM entries e JOIN postings p ON p.origin = e.id
			WHERE e.resp = '00' AND e.kind IN ('sale', 'qr', 'completion', 'advice', 'refund')
			GROUP BY e.id) x WHERE (undone = 1 AND live != 0) OR (undone = 0 AND live != own)`,
			func(c []any) string {
				if i64(c[1]) != 0 {
					return fmt.Sprintf("entry %s was undone but %v of its money is still booked (own net %v)", str(c[0]), c[3], c[2])
				}
				return fmt.Sprintf("entry %s: its postings book %v, its own net is %v", str(c[0]), c[3], c[2])
			}, 4},
		{RuleReversalOnce, `SELECT o.tid || '/' || o.stan || '/' || o.date, COUNT(*),
			SUM(CASE WHEN u.undone_by IS NOT NULL THEN 1 ELSE 0 END)
			FROM entries u JOIN entries o ON o.id = u.orig_id WHERE u.kind IN ('void', 'reversal')
			GROUP BY u.orig_id, o.id HAVING COUNT(*) - SUM(CASE WHEN u.undone_by IS NOT NULL THEN 1 ELSE 0 END) > 1`,
			func(c []any) string {
				return fmt.Sprintf("entry %s undone by %v voids/reversals, only %v of them undone again", str(c[0]), c[1], c[2])
			}, 3},
		{RuleD0Approved, `SELECT p.id, COALESCE(e.tid || '/' || e.stan || '/' || e.date, '?'), COALESCE(e.resp, ''),
			COALESCE(e.kind, '') FROM postings p LEFT JOIN entries e ON e.id = p.entry_id
			WHERE e.id IS NULL OR e.resp != '00'
			OR (p.type = 'd0_credit' AND e.kind NOT IN ('sale', 'qr', 'completion', 'advice'))`,
			func(c []any) string {
				return fmt.Sprintf("posting %v belongs to entry %s (kind %q, response %q), not an approved one",
					c[0], str(c[1]), str(c[3]), str(c[2]))
			}, 4},
		{RuleFee, `SELECT id, type, gross, fee, net FROM postings WHERE net != gross - fee`,
			func(c []any) string {
				return fmt.Sprintf("posting %v (%s): gross %v - fee %v != net %v", c[0], str(c[1]), c[2], c[3], c[4])
			}, 5},
		{RuleFee, `SELECT p.id, e.tid || '/' || e.stan || '/' || e.date, e.amount, p.gross, p.fee, p.bps
			FROM postings p JOIN entries e ON e.id = p.entry_id
			WHERE p.entry_id = p.origin AND p.type IN ('d0_credit', 't1_pending', 'reverse_d0')
			AND (abs(p.gross) != e.amount OR abs(p.fee) != (e.amount * p.bps + 5000) / 10000)`,
			func(c []any) string {
				return fmt.Sprintf("posting %v of entry %s: amount %v at %v bps should be gross %v fee %v, has %v and %v",
					c[0], str(c[1]), c[2], c[5], c[2], Fee(i64(c[2]), i64(c[5])), c[3], c[4])
			}, 6},
		{RulePendingState, `SELECT p.id, p.open, COUNT(s.id) FROM postings p
			LEFT JOIN postings s ON s.ref = p.id AND s.type IN ('t1_credit', 'cancel_t1')
			WHERE p.type = 't1_pending' GROUP BY p.id
			HAVING (p.open = 1 AND COUNT(s.id) > 0) OR (p.open = 0 AND COUNT(s.id) != 1)`,
			func(c []any) string {
				return fmt.Sprintf("pending posting %v: open=%v with %v settlements", c[0], c[1], c[2])
			}, 3},
	}
	checks = append(checks, refundChecks(str, l.d.concat())...)
	for _, ch := range checks {
		rows, err := l.rdb.QueryContext(ctx, ch.query)
		if err != nil {
			return nil, l.readErr("verifying "+ch.rule, err)
		}
		for rows.Next() {
			cols := make([]any, ch.ncols)
			ptrs := make([]any, ch.ncols)
			for i := range cols {
				ptrs[i] = &cols[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, l.readErr("verifying "+ch.rule, err)
			}
			for i, c := range cols {
				if b, ok := c.([]byte); ok {
					cols[i] = string(b)
				}
			}
			out = append(out, Breach{Rule: ch.rule, Detail: ch.detail(cols)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, l.readErr("verifying "+ch.rule, err)
		}
	}
	return out, nil
}

// i64 reads an integer column scanned into an any, 0 for anything else.
// PostgreSQL's SUM of BIGINT is NUMERIC, which its driver hands over as
// text.
func i64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

// refundChecks find refunds that return money no sale paid: a sale whose
// standing refunds, plus its amount when it was voided or reversed, exceed
// its amount; refunds naming no approved sale, or a sale of another card;
// and refunds naming no sale above their merchant's limit. The limit is the
// one stored now (the profile's, when the host last registered the
// merchant): a ledger written before limits were stored reads 0, so every
// approved unreferenced refund in it is named. One reversed since is named
// too: the host approved it all the same.
func refundChecks(str func(any) string, concat string) []check {
	return []check{
		{RuleRefundBound, `SELECT k, kind, amount, undone, refunded, refunds FROM (SELECT
			o.tid || '/' || o.stan || '/' || o.date AS k, o.kind, o.amount,
			CASE WHEN o.undone_by IS NOT NULL THEN 1 ELSE 0 END AS undone,
			COALESCE((SELECT SUM(r.amount) FROM entries r WHERE r.kind = 'refund' AND r.resp = '00'
				AND r.undone_by IS NULL AND r.orig_tid = o.tid AND r.orig_stan = o.stan AND r.orig_date = o.date), 0) AS refunded,
			COALESCE((SELECT ` + concat + `(r.tid || '/' || r.stan || '/' || r.date, ', ') FROM entries r
				WHERE r.kind = 'refund' AND r.resp = '00' AND r.undone_by IS NULL
				AND r.orig_tid = o.tid AND r.orig_stan = o.stan AND r.orig_date = o.date), '') AS refunds
			FROM entries o WHERE o.resp = '00' AND o.kind IN ('sale', 'qr', 'completion', 'advice')) x
			WHERE refunded + CASE WHEN undone = 1 THEN amount ELSE 0 END > amount`,
			func(c []any) string {
				undone := ""
				if i64(c[3]) != 0 {
					undone = " and was voided or reversed"
				}
				return fmt.Sprintf("%s %s of %v: refunded %v (refunds %s)%s, more than its amount",
					str(c[1]), str(c[0]), c[2], c[4], str(c[5]), undone)
			}, 6},
		{RuleRefundRef, `SELECT r.tid || '/' || r.stan || '/' || r.date, r.orig_tid || '/' || r.orig_stan || '/' || r.orig_date,
			CASE WHEN o.id IS NULL THEN 1 ELSE 0 END FROM entries r LEFT JOIN entries o ON o.tid = r.orig_tid AND o.stan = r.orig_stan
				AND o.date = r.orig_date AND o.resp = '00' AND o.kind IN ('sale', 'qr', 'completion', 'advice')
			WHERE r.kind = 'refund' AND r.resp = '00' AND r.orig_tid IS NOT NULL
			AND (o.id IS NULL OR (r.card_ref != '' AND o.card_ref != '' AND r.card_ref != o.card_ref))`,
			func(c []any) string {
				if i64(c[2]) != 0 {
					return fmt.Sprintf("refund %s names %s, which is no approved sale", str(c[0]), str(c[1]))
				}
				return fmt.Sprintf("refund %s went to another card than its sale %s", str(c[0]), str(c[1]))
			}, 3},
		{RuleUnreferencedRefund, `SELECT r.tid || '/' || r.stan || '/' || r.date, r.amount, r.merchant,
			COALESCE(m.unref_limit, 0), CASE WHEN r.undone_by IS NOT NULL THEN 1 ELSE 0 END
			FROM entries r LEFT JOIN merchants m ON m.id = r.merchant
			WHERE r.kind = 'refund' AND r.resp = '00' AND r.orig_tid IS NULL
			AND r.amount > COALESCE(m.unref_limit, 0) ORDER BY r.id`,
			func(c []any) string {
				reversed := ""
				if i64(c[4]) != 0 {
					reversed = " (reversed since)"
				}
				return fmt.Sprintf("refund %s of %v naming no sale, to merchant %s: above its unreferenced refund limit %v%s",
					str(c[0]), c[1], str(c[2]), c[3], reversed)
			}, 5},
	}
}
