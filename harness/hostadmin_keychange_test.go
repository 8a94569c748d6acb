package harness

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/possim/possim/simulators/acquirer"
)

// TestHostAdminKeyChange: POST /api/keychange makes the host flag the
// terminal's next answer (field 53) on TCP; a terminal not in the profile
// is refused with the valid ones listed.
func TestHostAdminKeyChange(t *testing.T) {
	h, a := startAdminHost(t, "")
	var mu sync.Mutex
	var f53 []string
	h.OnEvent(func(e acquirer.Event) {
		if e.Dir == "out" && e.MTI == "0210" {
			mu.Lock()
			f53 = append(f53, e.Fields["53"])
			mu.Unlock()
		}
	})

	if rc, _ := adminSale(t, h.Addr(), visaPAN, 100); rc == "" {
		t.Fatal("no answer")
	}
	st, body := call(t, a, http.MethodPost, "/api/keychange", `{"tid": "TERM0001"}`)
	if st != http.StatusOK || len(body["pending"].([]any)) != 1 || body["pending"].([]any)[0] != "TERM0001" {
		t.Fatalf("POST: %d %v", st, body)
	}
	adminSale(t, h.Addr(), visaPAN, 100)
	mu.Lock()
	got := append([]string(nil), f53...)
	mu.Unlock()
	if len(got) != 2 || got[0] != "" || got[1] != acquirer.KeyChangeRequired {
		t.Errorf("field 53 of the 0210s: %q; want none, then %q", got, acquirer.KeyChangeRequired)
	}

	st, body = call(t, a, http.MethodPost, "/api/keychange", `{"tid": "NOPE"}`)
	if msg, _ := body["error"].(string); st != http.StatusBadRequest || !strings.Contains(msg, "TERM0001") {
		t.Errorf("unknown terminal: %d %v; want 400 listing TERM0001", st, body)
	}
	st, body = call(t, a, http.MethodPost, "/api/keychange", `{}`)
	if st != http.StatusBadRequest {
		t.Errorf("no tid: %d %v", st, body)
	}
	st, body = call(t, a, http.MethodGet, "/api/keychange", "")
	if st != http.StatusOK || len(body["pending"].([]any)) != 1 {
		t.Errorf("GET: %d %v", st, body)
	}
}
