package terminal

import (
	"maps"

	"github.com/possim/possim/card"
	"github.com/possim/possim/virtualdevices/cardreader"
)

// CardATC is the highest application transaction counter (9F36) the
// terminal has read from the profile card alias, as kept in its Store; 0
// when none.
//
// A real card keeps its own counter. Virtual cards made afresh at each run
// (possim terminal, an external scenario run) start from this value, or
// their cryptograms would repeat ones the issuer already accepted, and it
// declines those as replays.
func (t *Terminal) CardATC(alias string) uint16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap.CardATC[alias]
}

// noteATC keeps the counter of a chip or contactless read of a card of the
// profile, and saves it at once: the card has used it up even if the
// transaction goes no further.
func (t *Terminal) noteATC(rd cardreader.Read) {
	if len(rd.ICC) == 0 {
		return
	}
	r, _, err := card.ParseICCData(rd.ICC)
	if err != nil {
		return
	}
	for _, c := range t.cfg.Profile.Cards {
		if c.PAN != rd.PAN {
			continue
		}
		if r.ATC <= t.data.CardATC[c.Alias] {
			return
		}
		// A new map: the published snapshot shares the old one.
		m := maps.Clone(t.data.CardATC)
		if m == nil {
			m = map[string]uint16{}
		}
		m[c.Alias] = r.ATC
		t.data.CardATC = m
		t.save()
		return
	}
}
