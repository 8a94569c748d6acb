package harness

import (
	"net/http"
)

// serveKeyChange: POST {"tid": T} asks terminal T to change its PIN key
// (field 53 of every answer to it until it does); GET lists the terminals
// asked that have not changed it yet.
func (a *HostAdmin) serveKeyChange(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPost {
		var req struct {
			TID string `json:"tid"`
		}
		if err := decodeStrict(r, &req); err != nil {
			return err
		}
		if req.TID == "" {
			return bad(`key change: want {"tid": "TERMINAL ID"}`)
		}
		a.mu.Lock()
		err := a.h.RequestKeyChange(req.TID)
		a.mu.Unlock()
		if err != nil {
			return bad("%v", err)
		}
	}
	writeJSON(w, http.StatusOK, map[string][]string{"pending": a.h.KeyChangesPending()})
	return nil
}
