package terminal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	// CardATC is the highest application transaction counter read from
	// each card of the profile, by alias (see Terminal.CardATC).
	CardATC map[string]uint16 `json:"card_atc,omitempty"`
	// KeyTime is when the PIN key in use was loaded (sign-on or key
	// change), KeyUses how many financial requests went out under it, and
	// KeyChangeDue whether the host asked for a new one (field 53).
	KeyTime      time.Time `json:"key_time,omitzero"`
	KeyUses      int       `json:"key_uses,omitempty"`
	KeyChangeDue bool      `json:"key_change_due,omitempty"`
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

// sealPrefix marks a card record sealed with AES-GCM under a fresh nonce.
// Records without it are the first format, 3DES ECB under the TMK, which
// sealed the same card to the same text and so showed which transactions
// shared a card; they are still read, and written again in this format at
// the next save.
const sealPrefix = "g1:"

// stateAEAD is the cipher of the card records: AES-256-GCM under a key
// derived from the terminal master key, kept apart from the TMK's own use
// (wrapping the session PIN key) by the HKDF label.
func stateAEAD(tmk []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, tmk, nil, "possim terminal state card records", 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the state key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("state key: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts "PAN=YYMM" with a random nonce, so that two records of the
// same card differ; the record's name ("txn:000012") is bound to it as
// associated data, so records cannot be swapped between transactions.
func seal(aead cipher.AEAD, name, pan, expiry string) (string, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(pan)+len(expiry)+1+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sealing a card record: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(pan+"="+expiry), []byte(name))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// unseal opens a record of either format.
func unseal(aead cipher.AEAD, tmk []byte, name, s string) (pan, expiry string, ok bool) {
	if rest, found := strings.CutPrefix(s, sealPrefix); found {
		b, err := base64.RawStdEncoding.DecodeString(rest)
		if err != nil || len(b) < aead.NonceSize() {
			return "", "", false
		}
		p, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(name))
		if err != nil {
			return "", "", false
		}
		return strings.Cut(string(p), "=")
	}
	return unsealECB(tmk, s)
}

// unsealECB reads a record of the first format (3DES ECB, space padded).
func unsealECB(key []byte, s string) (pan, expiry string, ok bool) {
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

// sealCards records the card numbers of the log and reversals in
// t.data.Cards. A record whose card is unchanged keeps its sealed text (a
// fresh nonce at every save would only churn the file).
func (t *Terminal) sealCards() error {
	tmk := t.cfg.Profile.Keys.TMK()
	aead, err := stateAEAD(tmk)
	if err != nil {
		return err
	}
	old := t.data.Cards
	t.data.Cards = map[string]string{}
	put := func(name, pan, expiry string) error {
		if pan == "" {
			return nil
		}
		if s, ok := old[name]; ok && strings.HasPrefix(s, sealPrefix) {
			if p, e, ok := unseal(aead, tmk, name, s); ok && p == pan && e == expiry {
				t.data.Cards[name] = s
				return nil
			}
		}
		s, err := seal(aead, name, pan, expiry)
		if err != nil {
			return err
		}
		t.data.Cards[name] = s
		return nil
	}
	for _, x := range t.data.Log {
		if err := put("txn:"+x.STAN, x.pan, x.expiry); err != nil {
			return err
		}
	}
	for _, r := range t.data.Reversals {
		if err := put("rev:"+r.STAN, r.pan, r.expiry); err != nil {
			return err
		}
	}
	return nil
}

// unsealCards puts the card numbers back after a load. A record that does
// not open (another profile's keys, a damaged file) is an error: the
// terminal could not void, refund or reverse that transaction.
func (t *Terminal) unsealCards() error {
	tmk := t.cfg.Profile.Keys.TMK()
	aead, err := stateAEAD(tmk)
	if err != nil {
		return err
	}
	open := func(name string) (string, string, error) {
		s, ok := t.data.Cards[name]
		if !ok {
			return "", "", nil
		}
		pan, expiry, ok := unseal(aead, tmk, name, s)
		if !ok {
			return "", "", fmt.Errorf("card record %s does not open with this profile's terminal master key", name)
		}
		return pan, expiry, nil
	}
	for i := range t.data.Log {
		x := &t.data.Log[i]
		if x.pan, x.expiry, err = open("txn:" + x.STAN); err != nil {
			return err
		}
	}
	for i := range t.data.Reversals {
		r := &t.data.Reversals[i]
		if r.pan, r.expiry, err = open("rev:" + r.STAN); err != nil {
			return err
		}
	}
	return nil
}
