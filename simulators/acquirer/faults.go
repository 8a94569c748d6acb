package acquirer

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Fault actions. Decision faults (respond, partial, maintenance) change what
// the host decides and journals; wire faults change only what goes back on
// the wire after the decision is journaled, the way a broken network or a
// buggy host front end would.
const (
	ActRespond     = "respond"     // answer with Code instead of the issuer's decision (journaled as such)
	ActDelay       = "delay"       // answer normally after Delay
	ActDrop        = "drop"        // journal, never answer
	ActClose       = "close"       // journal, close the connection instead of answering
	ActReset       = "reset"       // journal, reset the connection (TCP RST) instead of answering
	ActAmount      = "amount"      // answer with Amount in field 4
	ActPartial     = "partial"     // approve Amount only: 39=10, field 54 = approved amount
	ActDuplicate   = "duplicate"   // send the answer twice
	ActWrongSTAN   = "wrong_stan"  // answer with field 11 one higher than asked
	ActGarble      = "garble"      // answer with a frame whose bitmap is not hex
	ActMaintenance = "maintenance" // answer 91 (or Code) without deciding or journaling
	ActKeyChange   = "keychange"   // answer normally, asking the terminal for a PIN key change (keychange.go)
)

var actions = []string{ActRespond, ActDelay, ActDrop, ActClose, ActReset, ActAmount, ActPartial,
	ActDuplicate, ActWrongSTAN, ActGarble, ActMaintenance, ActKeyChange}

// Match says which requests a fault applies to. Empty fields match anything;
// Nth, when set, makes the fault fire on the Nth request that matches the
// rest (counted from when the fault was added), and, if sticky, on every
// one after it.
type Match struct {
	MTI      string `json:"mti,omitempty"`
	ProcCode string `json:"proc_code,omitempty"`
	PAN      string `json:"pan,omitempty"` // a PAN or a QR payment code
	Alias    string `json:"alias,omitempty"`
	Amount   *int64 `json:"amount,omitempty"` // minor units
	TID      string `json:"tid,omitempty"`
	Nth      int    `json:"nth,omitempty"`
}

// Fault is one programmed misbehaviour. A one-shot fault removes itself after
// firing; a sticky one stays until removed.
type Fault struct {
	ID     int           `json:"id,omitempty"` // set by Faults.Add
	Name   string        `json:"name,omitempty"`
	Match  Match         `json:"match"`
	Action string        `json:"action"`
	Code   string        `json:"code,omitempty"`   // respond, maintenance
	Delay  time.Duration `json:"delay,omitempty"`  // any action: wait this long before answering
	Amount int64         `json:"amount,omitempty"` // amount, partial (minor units)
	Sticky bool          `json:"sticky,omitempty"`
	Hits   int           `json:"hits,omitempty"` // times fired, reported by List
	seen   int
	// playback: made by Config.Playback for one request, not programmed.
	playback bool
}

// Validate checks the action and its parameters.
func (f *Fault) Validate() error {
	if !slices.Contains(actions, f.Action) {
		return fmt.Errorf("fault %q: unknown action %q; valid actions: %v", f.Name, f.Action, actions)
	}
	if f.Action == ActRespond && !isCode(f.Code) {
		return fmt.Errorf("fault %q: action respond needs a two-character response code, got %q", f.Name, f.Code)
	}
	if f.Code != "" && !isCode(f.Code) {
		return fmt.Errorf("fault %q: response code %q must be two characters", f.Name, f.Code)
	}
	if f.Delay < 0 || f.Amount < 0 || f.Match.Nth < 0 {
		return fmt.Errorf("fault %q: negative delay, amount or nth", f.Name)
	}
	if f.Action == ActDelay && f.Delay == 0 {
		return fmt.Errorf("fault %q: action delay needs a delay", f.Name)
	}
	return nil
}

func isCode(s string) bool { return len(s) == 2 }

// Faults is the host's fault table, safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	next   int
	list   []*Fault
	byPAN  func(alias string) string // alias -> PAN, from the profile
	closed bool
}

// Add installs f and returns its ID.
func (fs *Faults) Add(f Fault) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	if f.Match.Alias != "" && fs.byPAN != nil && fs.byPAN(f.Match.Alias) == "" {
		return 0, fmt.Errorf("fault %q: unknown card alias %q", f.Name, f.Match.Alias)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.next++
	f.ID, f.Hits, f.seen = fs.next, 0, 0
	fs.list = append(fs.list, &f)
	return f.ID, nil
}

// Remove deletes the fault with id and reports whether it was there.
func (fs *Faults) Remove(id int) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.list {
		if f.ID == id {
			fs.list = slices.Delete(fs.list, i, i+1)
			return true
		}
	}
	return false
}

// Clear removes every fault.
func (fs *Faults) Clear() {
	fs.mu.Lock()
	fs.list = nil
	fs.mu.Unlock()
}

// List returns a copy of the installed faults, in the order they match.
func (fs *Faults) List() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, len(fs.list))
	for i, f := range fs.list {
		out[i] = *f
	}
	return out
}

// subject is what a fault can match on in a request.
type subject struct {
	mti, proc, pan, tid string
	amount              int64
	hasAmount           bool
}

// fire returns the fault that fires for s, if any. Every fault whose match
// fits counts the request, so two Nth faults count the same stream.
func (fs *Faults) fire(s subject) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var hit *Fault
	for _, f := range fs.list {
		if !fs.matches(f, s) {
			continue
		}
		f.seen++
		if hit == nil && (f.Match.Nth == 0 || f.seen == f.Match.Nth || (f.Sticky && f.seen > f.Match.Nth)) {
			hit = f
		}
	}
	if hit == nil {
		return Fault{}, false
	}
	hit.Hits++
	out := *hit
	if !hit.Sticky {
		fs.list = slices.DeleteFunc(fs.list, func(f *Fault) bool { return f == hit })
	}
	return out, true
}

func (fs *Faults) matches(f *Fault, s subject) bool {
	m := &f.Match
	switch {
	case m.MTI != "" && m.MTI != s.mti,
		m.ProcCode != "" && m.ProcCode != s.proc,
		m.TID != "" && m.TID != s.tid,
		m.PAN != "" && m.PAN != s.pan,
		m.Amount != nil && (!s.hasAmount || *m.Amount != s.amount):
		return false
	}
	if m.Alias != "" {
		if fs.byPAN == nil || s.pan == "" || fs.byPAN(m.Alias) != s.pan {
			return false
		}
	}
	return true
}

// LoadFaults reads a fault file (YAML, or JSON, which YAML includes).
// Errors name the file and line.
func LoadFaults(path string) ([]Fault, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading fault file: %w", err)
	}
	return ParseFaults(b, path)
}

// FaultFileError is a problem in a fault file, with where it was found.
type FaultFileError struct {
	File string
	Line int
	Msg  string
}

func (e *FaultFileError) Error() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
	}
	return e.File + ": " + e.Msg
}
