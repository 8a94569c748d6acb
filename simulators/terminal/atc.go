package terminal

import (
	"context"
	"maps"
)

// CardATC is the saved application transaction counter of the virtual card
// alias; 0 when none was saved.
func (t *Terminal) CardATC(alias string) uint16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap.CardATC[alias]
}

// SetCardATC keeps the counter of the virtual card alias in the Store, for
// a caller that makes its cards afresh at each run (possim terminal): a
// real card keeps its own counter, and an issuer declines a cryptogram
// whose counter is not above the last one it accepted. The counter never
// goes down.
func (t *Terminal) SetCardATC(ctx context.Context, alias string, atc uint16) error {
	_, end, err := t.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if atc <= t.data.CardATC[alias] {
		return nil
	}
	// A new map: the published snapshot shares the old one.
	m := maps.Clone(t.data.CardATC)
	if m == nil {
		m = map[string]uint16{}
	}
	m[alias] = atc
	t.data.CardATC = m
	t.save()
	return nil
}
