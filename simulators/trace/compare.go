package trace

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/possim/possim/simulators/iso"
)

// asAlways are the fields that differ on every run: times, the reference
// and approval numbers the host makes up, and the session key a sign-on
// hands out. They are listed, not failed, unless the replay is strict.
var asAlways = map[int]bool{7: true, 12: true, 13: true, 37: true, 38: true, 62: true}

// compare sets e.Match and the field differences between the recorded
// answer and the one this run got. A field the host echoes from the
// request matches when it echoes what was sent, so new STANs and times do
// not show as differences.
func compare(e *ExchangeResult, req *Message, strict bool) {
	switch {
	case e.NotSent != "":
		e.Match = false
		return
	case e.recorded == nil && e.got == nil:
		e.Match = true
		return
	case e.recorded == nil || e.got == nil:
		e.Match = false
		return
	}
	rec := map[int]string{}
	for _, f := range e.recorded.Fields {
		rec[f.Num] = f.Value
	}
	got := map[int]string{}
	for k, v := range iso.MaskFields(e.got) {
		if n, err := strconv.Atoi(k); err == nil && n > 1 {
			got[n] = v
		}
	}
	sent := map[int]string{}
	if e.sent != nil {
		for k, v := range iso.MaskFields(e.sent) {
			if n, err := strconv.Atoi(k); err == nil {
				sent[n] = v
			}
		}
	}
	nums := map[int]bool{}
	for n := range rec {
		nums[n] = true
	}
	for n := range got {
		nums[n] = true
	}
	var order []int
	for n := range nums {
		order = append(order, n)
	}
	sort.Ints(order)
	gotMTI, _ := e.got.GetMTI()
	e.Match = gotMTI == e.recorded.MTI
	if !e.Match {
		e.Diffs = append(e.Diffs, Diff{Num: 0, Name: "MTI", Recorded: e.recorded.MTI, Got: gotMTI})
	}
	d := &iso.Dialect{Spec: e.got.GetSpec()} // names from the spec the answer came in
	for _, n := range order {
		r, g := rec[n], got[n]
		if r == g {
			continue
		}
		if _, ok := rec[n]; ok && r == req.Field(n) && g == sent[n] {
			continue // an echo of the request, as recorded
		}
		diff := Diff{Num: n, Name: fieldName(d, n), Recorded: r, Got: g}
		if asAlways[n] && r != "" && g != "" && !strict {
			e.AsAlways = append(e.AsAlways, diff)
			continue
		}
		e.Diffs = append(e.Diffs, diff)
		e.Match = false
	}
}

// WriteReplayText prints a replay: one line per exchange, the differing
// fields under it by number and name, and a summary line.
func WriteReplayText(w io.Writer, r *ReplayResult) error {
	ew := &errWriter{w: w}
	for _, n := range r.Notes {
		ew.printf("note: %s\n", n)
	}
	bad := 0
	for _, e := range r.Exchanges {
		verdict := "matches"
		if !e.Match {
			verdict, bad = "DIFFERS", bad+1
		}
		stan := e.STAN
		if e.SentSTAN != "" && e.SentSTAN != e.STAN {
			stan += " sent as " + e.SentSTAN
		}
		ew.printf("exchange %d conn %d %s STAN %s: recorded %s, got %s: %s\n", e.N, e.Conn, e.MTI, stan, e.Recorded, e.Got, verdict)
		for _, n := range e.Notes {
			ew.printf("    note: %s\n", n)
		}
		if e.NotSent != "" {
			ew.printf("    not sent: %s\n", e.NotSent)
		}
		for _, d := range e.Diffs {
			ew.printf("    %s\n", d)
		}
		if len(e.AsAlways) > 0 {
			var nums []string
			for _, d := range e.AsAlways {
				nums = append(nums, strconv.Itoa(d.Num))
			}
			ew.printf("    differ as always (not failed): %s\n", strings.Join(nums, ", "))
		}
	}
	ew.printf("replay: %d exchanges on %d connections, %d match, %d differ\n", len(r.Exchanges), r.Conns, len(r.Exchanges)-bad, bad)
	return ew.err
}

func (d Diff) String() string {
	name := d.Name
	if d.Num > 0 {
		name = fmt.Sprintf("%3d %s", d.Num, d.Name)
	}
	show := func(v string) string {
		if v == "" {
			return "(absent)"
		}
		return v
	}
	return fmt.Sprintf("%s: recorded %s, got %s", name, show(d.Recorded), show(d.Got))
}

// WriteReplayJSON prints one JSON object per exchange, then the totals.
func WriteReplayJSON(w io.Writer, r *ReplayResult) error {
	enc := json.NewEncoder(w)
	for _, e := range r.Exchanges {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	bad := 0
	for _, e := range r.Exchanges {
		if !e.Match {
			bad++
		}
	}
	return enc.Encode(map[string]any{"exchanges": len(r.Exchanges), "connections": r.Conns,
		"match": len(r.Exchanges) - bad, "differ": bad, "notes": r.Notes})
}
