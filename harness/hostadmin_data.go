package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/money"
	"github.com/possim/possim/simulators/acquirer"
	"github.com/possim/possim/simulators/ledger"
)

// decodeStrict reads a JSON object body into v; unknown keys are errors.
func decodeStrict(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad("request body: %v", err)
	}
	return nil
}

// faultJSON is a fault as the --faults file writes it (amounts as decimal
// strings, delays as durations), plus the ID and hit count the host adds.
// A PAN in a match is masked.
type faultJSON struct {
	ID     int       `json:"id"`
	Name   string    `json:"name,omitempty"`
	Match  matchJSON `json:"match"`
	Action string    `json:"action"`
	Code   string    `json:"code,omitempty"`
	Delay  string    `json:"delay,omitempty"`
	Amount string    `json:"amount,omitempty"`
	Sticky bool      `json:"sticky,omitempty"`
	Hits   int       `json:"hits"`
}

type matchJSON struct {
	MTI      string `json:"mti,omitempty"`
	ProcCode string `json:"proc_code,omitempty"`
	PAN      string `json:"pan,omitempty"`
	Alias    string `json:"alias,omitempty"`
	Amount   string `json:"amount,omitempty"`
	TID      string `json:"tid,omitempty"`
	Nth      int    `json:"nth,omitempty"`
}

func newFaultJSON(f acquirer.Fault) faultJSON {
	out := faultJSON{ID: f.ID, Name: f.Name, Action: f.Action, Code: f.Code, Sticky: f.Sticky, Hits: f.Hits,
		Match: matchJSON{MTI: f.Match.MTI, ProcCode: f.Match.ProcCode, Alias: f.Match.Alias, TID: f.Match.TID, Nth: f.Match.Nth}}
	if f.Delay > 0 {
		out.Delay = f.Delay.String()
	}
	if f.Amount > 0 {
		out.Amount = money.Format(f.Amount)
	}
	if f.Match.Amount != nil {
		out.Match.Amount = money.Format(*f.Match.Amount)
	}
	if p := f.Match.PAN; p != "" {
		if len(p) >= 12 && len(p) <= 19 && !strings.ContainsFunc(p, func(r rune) bool { return r < '0' || r > '9' }) {
			out.Match.PAN = card.MaskPAN(p)
		} else {
			out.Match.PAN = card.MaskPaymentCode(p)
		}
	}
	return out
}

func faultsJSON(fs []acquirer.Fault) map[string]any {
	out := make([]faultJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, newFaultJSON(f))
	}
	return map[string]any{"faults": out}
}

// parseFaultBody reads a body in the fault file's format: a list, a
// {"faults": [...]} object, or one fault object.
func parseFaultBody(r *http.Request) ([]acquirer.Fault, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) == nil {
		if _, ok := top["faults"]; !ok {
			b = append(append([]byte("["), b...), ']') // one fault; lines stay where they were
		}
	}
	fs, err := acquirer.ParseFaults(b, "request body")
	if err != nil {
		return nil, bad("%v", err)
	}
	return fs, nil
}

func (a *HostAdmin) serveFaults(w http.ResponseWriter, r *http.Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		fs, err := parseFaultBody(r)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			return bad("request body: no fault; send a fault object or a list in the --faults file format")
		}
		// All or nothing: check every fault before adding the first.
		for _, f := range fs {
			if err := a.h.CheckFault(f); err != nil {
				return bad("%v", err)
			}
		}
		added := make([]acquirer.Fault, 0, len(fs))
		for _, f := range fs {
			id, err := a.h.AddFault(f)
			if err != nil {
				return bad("%v", err)
			}
			f.ID = id
			added = append(added, f)
		}
		writeJSON(w, http.StatusCreated, faultsJSON(added))
		return nil
	case http.MethodPut:
		fs, err := parseFaultBody(r)
		if err != nil {
			return err
		}
		set, err := a.h.SetFaults(fs)
		if err != nil {
			return bad("%v", err)
		}
		writeJSON(w, http.StatusOK, faultsJSON(set))
		return nil
	case http.MethodDelete:
		set, _ := a.h.SetFaults(nil)
		writeJSON(w, http.StatusOK, faultsJSON(set))
		return nil
	}
	writeJSON(w, http.StatusOK, faultsJSON(a.h.FaultList()))
	return nil
}

func (a *HostAdmin) serveFault(w http.ResponseWriter, r *http.Request) error {
	s := strings.TrimPrefix(strings.TrimSuffix(r.URL.Path, "/"), "/api/faults/")
	id, err := strconv.Atoi(s)
	if err != nil {
		return bad("fault ID %q: want the number GET /api/faults shows", s)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.h.FaultList() {
		if f.ID != id {
			continue
		}
		if r.Method == http.MethodDelete && !a.h.RemoveFault(id) {
			break // it fired and went meanwhile
		}
		writeJSON(w, http.StatusOK, newFaultJSON(f))
		return nil
	}
	return notFound("no fault %d (it may have fired: a fault without sticky goes after it fires)", id)
}

func (a *HostAdmin) serveCards(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"cards": a.h.Cards(), "statuses": acquirer.CardStatuses()})
	return nil
}

// serveCard answers /api/cards/ALIAS, /api/cards/ALIAS/status and
// /api/cards/ALIAS/reset_pin.
func (a *HostAdmin) serveCard(w http.ResponseWriter, r *http.Request, rest string) error {
	alias, op, _ := strings.Cut(rest, "/")
	if _, err := a.h.Card(alias); err != nil {
		return notFound("%v", err)
	}
	switch op {
	case "":
		return a.only(w, r, func(w http.ResponseWriter, r *http.Request) error { return a.writeCard(w, alias) }, http.MethodGet)
	case "status":
		return a.only(w, r, func(w http.ResponseWriter, r *http.Request) error {
			var req struct {
				Status string `json:"status"`
			}
			if err := decodeStrict(r, &req); err != nil {
				return err
			}
			a.mu.Lock()
			err := a.h.SetCardStatus(alias, req.Status)
			a.mu.Unlock()
			if err != nil {
				return bad("%v", err)
			}
			return a.writeCard(w, alias)
		}, http.MethodPost, http.MethodPut)
	case "reset_pin":
		return a.only(w, r, func(w http.ResponseWriter, r *http.Request) error {
			a.mu.Lock()
			err := a.h.ResetPINTries(alias)
			a.mu.Unlock()
			if err != nil {
				return bad("%v", err)
			}
			return a.writeCard(w, alias)
		}, http.MethodPost)
	}
	return notFound("no such path %q; a card has /status and /reset_pin", r.URL.Path)
}

func (a *HostAdmin) writeCard(w http.ResponseWriter, alias string) error {
	c, err := a.h.Card(alias)
	if err != nil {
		return notFound("%v", err)
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *HostAdmin) serveStatement(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	mid := q.Get("merchant")
	prof := a.h.Profile()
	var mids []string
	for _, m := range prof.Merchants {
		mids = append(mids, m.ID)
	}
	if mid == "" {
		return bad("merchant is required; valid merchants: %s", strings.Join(mids, ", "))
	}
	p := ledger.Period(q.Get("period"))
	if p == "" {
		p = ledger.Day
	}
	if p != ledger.Day && p != ledger.Month && p != ledger.Quarter {
		return bad("period %q: want day, month or quarter", p)
	}
	at := a.cfg.Now()
	if d := q.Get("date"); d != "" {
		t, err := time.ParseInLocation(time.DateOnly, d, at.Location())
		if err != nil {
			return bad("date %q: want YYYY-MM-DD", d)
		}
		at = t.Add(12 * time.Hour)
	}
	st, err := a.h.Ledger().Statement(r.Context(), mid, p, at)
	if errors.Is(err, ledger.ErrNotFound) {
		return notFound("merchant %q is not in the ledger; valid merchants: %s", mid, strings.Join(mids, ", "))
	}
	if err != nil {
		return fmt.Errorf("statement of %s: %w", mid, err)
	}
	writeJSON(w, http.StatusOK, NewStatementTotals(st))
	return nil
}

type breachJSON struct {
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
}

func (a *HostAdmin) serveDiscrepancies(w http.ResponseWriter, r *http.Request) error {
	bs, err := a.h.Ledger().Verify(r.Context())
	if err != nil {
		return fmt.Errorf("verifying the ledger: %w", err)
	}
	out := make([]breachJSON, 0, len(bs))
	for _, b := range bs {
		out = append(out, breachJSON{Rule: b.Rule, Detail: b.Detail})
	}
	writeJSON(w, http.StatusOK, map[string]any{"consistent": len(out) == 0, "discrepancies": out})
	return nil
}
