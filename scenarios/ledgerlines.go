package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/possim/possim/harness"
)

// ledgerLines is what the report shows of the ledger: every posting of
// every merchant of the profile today.
func ledgerLines(ctx context.Context, w *World) []string {
	led := w.Lab.Ledger
	if led == nil {
		return nil
	}
	var out []string
	from := time.Unix(0, 0)
	to := time.Now().Add(48 * time.Hour)
	for _, m := range w.Profile.Merchants {
		ps, err := led.Postings(ctx, m.ID, from, to)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", m.ID, err))
			continue
		}
		for _, p := range ps {
			out = append(out, harness.PostingLine(p))
		}
	}
	return out
}
