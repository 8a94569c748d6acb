package acquirer

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestJournalFailureLoggedOncePerInterval: with the ledger gone every sale
// fails (as on a full disk); the log says so once per interval, and Close
// writes how many repeats it held back, not one line per request.
func TestJournalFailureLoggedOncePerInterval(t *testing.T) {
	logs := &lockedBuf{}
	h := startHost(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	h.warn.setEvery(time.Hour) // the whole test is one interval, however slow the machine
	tm := dial(t, h.Addr())
	h.Ledger().Close()
	const sales = 200
	for i := 0; i < sales; i++ {
		if c := rc(tm.mustSend(tm.sale(visa, 100))); c != "96" {
			t.Fatalf("sale %d with the ledger closed answered %s; want 96", i, c)
		}
	}
	h.Close()
	out := logs.String()
	if n := strings.Count(out, "journal failed"); n != 2 {
		t.Errorf("%d journal-failure lines for %d failed sales; want 2 (the first, and the count at Close):\n%s", n, sales, out)
	}
	if !strings.Contains(out, "suppressed=199") {
		t.Errorf("no count of the 199 repeats held back:\n%s", out)
	}
}

func TestRateLog(t *testing.T) {
	logs := &lockedBuf{}
	r := newRateLog(slog.New(slog.NewTextHandler(logs, nil)), time.Hour)
	for i := 0; i < 5; i++ {
		r.Warn("a", "first kind", "i", i)
		r.Warn("b", "second kind", "i", i)
	}
	r.Flush()
	r.Flush() // nothing left to say
	out := logs.String()
	for _, want := range []string{"first kind\" i=0", "second kind\" i=0", "first kind (repeats held back)\" suppressed=4",
		"second kind (repeats held back)\" suppressed=4"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("%d lines; want 4:\n%s", n, out)
	}
	// With no interval every line is written.
	logs2 := &lockedBuf{}
	r0 := newRateLog(slog.New(slog.NewTextHandler(logs2, nil)), 0)
	r0.Warn("a", "x")
	r0.Warn("a", "x")
	if n := strings.Count(logs2.String(), "\n"); n != 2 {
		t.Errorf("interval 0: %d lines; want 2", n)
	}
}
