package terminal

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/possim/possim/card"
)

// Saved is what a terminal keeps across power cycles: counters, the batch
// and its log, pending reversals, queued receipts and the sign-on. Card
// numbers are never in it in clear: Cards holds them sealed under the
// terminal master key, as a terminal's secure memory would.
type Saved struct {
	STAN       int               `json:"stan"`
	Batch      int               `json:"batch"`
	SignedOn   bool              `json:"signed_on"`
	SignOnDate string            `json:"sign_on_date,omitempty"` // YYYYMMDD
	KeyBlock   string            `json:"key_block,omitempty"`    // field 62 of the sign-on: key under the TMK + KCV
	Log        []Txn             `json:"log"`
	Reversals  []Reversal        `json:"reversals"`
	Queued     []QueuedReceipt   `json:"queued_receipts"`
	Last       []QueuedReceipt   `json:"last_receipt,omitempty"`
	Settled    []SettleResult    `json:"settled,omitempty"`
	Cards      map[string]string `json:"cards,omitempty"` // "txn:STAN" or "rev:STAN" -> sealed PAN and expiry
}

// Store keeps a terminal's Saved state between runs.
type Store interface {
	// Load returns nil, nil when nothing was saved yet.
	Load() (*Saved, error)
	Save(*Saved) error
}

// FileStore keeps the state as a JSON file, replaced atomically on save.
type FileStore string

// Load reads the file; a missing file is an empty state.
func (f FileStore) Load() (*Saved, error) {
	b, err := os.ReadFile(string(f))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading terminal state: %w", err)
	}
	var s Saved
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: terminal state is not valid JSON: %w", f, err)
	}
	return &s, nil
}

// Save writes the file through a temporary file and a rename.
func (f FileStore) Save(s *Saved) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding terminal state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(string(f)), ".possim-terminal-*")
	if err != nil {
		return fmt.Errorf("saving terminal state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving terminal state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving terminal state: %w", err)
	}
	if err := os.Rename(tmp.Name(), string(f)); err != nil {
		return fmt.Errorf("saving terminal state: %w", err)
	}
	return nil
}

// seal encrypts "PAN=YYMM" under key (3DES ECB, space padded).
func seal(key []byte, pan, expiry string) string {
	p := []byte(pan + "=" + expiry)
	for len(p)%8 != 0 {
		p = append(p, ' ')
	}
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i += 8 {
		b, err := card.TDESEncrypt(key, p[i:i+8])
		if err != nil {
			return ""
		}
		out = append(out, b...)
	}
	return hex.EncodeToString(out)
}

func unseal(key []byte, s string) (pan, expiry string, ok bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b)%8 != 0 {
		return "", "", false
	}
	var out []byte
	for i := 0; i < len(b); i += 8 {
		p, err := card.TDESDecrypt(key, b[i:i+8])
		if err != nil {
			return "", "", false
		}
		out = append(out, p...)
	}
	pan, expiry, ok = strings.Cut(string(bytes.TrimRight(out, " ")), "=")
	return pan, expiry, ok
}

// sealCards records the card numbers of the log and reversals in t.data.Cards.
func (t *Terminal) sealCards() {
	key := t.cfg.Profile.Keys.TMK()
	t.data.Cards = map[string]string{}
	for _, x := range t.data.Log {
		if x.pan != "" {
			t.data.Cards["txn:"+x.STAN] = seal(key, x.pan, x.expiry)
		}
	}
	for _, r := range t.data.Reversals {
		if r.pan != "" {
			t.data.Cards["rev:"+r.STAN] = seal(key, r.pan, r.expiry)
		}
	}
}

// unsealCards puts the card numbers back after a load.
func (t *Terminal) unsealCards() {
	key := t.cfg.Profile.Keys.TMK()
	for i := range t.data.Log {
		if s, ok := t.data.Cards["txn:"+t.data.Log[i].STAN]; ok {
			t.data.Log[i].pan, t.data.Log[i].expiry, _ = unseal(key, s)
		}
	}
	for i := range t.data.Reversals {
		if s, ok := t.data.Cards["rev:"+t.data.Reversals[i].STAN]; ok {
			t.data.Reversals[i].pan, t.data.Reversals[i].expiry, _ = unseal(key, s)
		}
	}
}
