package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/possim/possim/card"
	"github.com/possim/possim/internal/sharktest"
)

// sharkShown is what trace shows for Wireshark's value v of field n: the
// same masking, and the numeric counts and amounts of settlement without
// their leading zeros.
func sharkShown(n int, v string) string {
	switch n {
	case 2:
		return card.MaskPAN(v)
	case 35:
		return "[" + strconv.Itoa(len(v)) + " bytes]"
	case 52, 55:
		return "[" + strconv.Itoa(len(v)/2) + " bytes]"
	case 62:
		if len(v) == 38 {
			return "[key under TMK] kcv=" + v[32:]
		}
	case 74, 76, 86, 88:
		if s := strings.TrimLeft(v, "0"); s != "" {
			return s
		}
		return "0"
	}
	return v
}

// compareShark compares trace show --json with Wireshark message by
// message and field by field, and returns how many fields it compared.
func compareShark(t *testing.T, ws []sharktest.Message, tr []traceJSON) int {
	t.Helper()
	if len(ws) != len(tr) {
		t.Fatalf("Wireshark reads %d messages, trace show %d", len(ws), len(tr))
	}
	compared := 0
	for i, w := range ws {
		m := tr[i]
		if "packet "+w.Frame != m.Where || w.MTI != m.MTI {
			t.Errorf("message %d: Wireshark %s at frame %s, trace %s at %s", i+1, w.MTI, w.Frame, m.MTI, m.Where)
			continue
		}
		ours := map[int]string{}
		for _, f := range m.Fields {
			ours[f.Num] = f.Value
		}
		var wsRun, ourRun string
		for n, v := range w.Fields {
			got, ok := ours[n]
			switch {
			case !ok:
				t.Errorf("#%d %s field %d: Wireshark %q, trace has none", m.N, m.MTI, n, v)
			case (n == 86 || n == 88) && len(v) == 15:
				// Wireshark's 1987 table has 86-89 n15, ISO and possim87
				// n16: compared below, end to end.
			case got != sharkShown(n, v):
				t.Errorf("#%d %s field %d: Wireshark %q (shown %q), trace %q", m.N, m.MTI, n, v, sharkShown(n, v), got)
			}
			compared++
		}
		for _, n := range []int{86, 88} {
			if v, ok := w.Fields[n]; ok && len(v) == 15 {
				wsRun += v
				ourRun += fmt.Sprintf("%016s", ours[n])
			}
		}
		if !strings.HasPrefix(ourRun, wsRun) {
			t.Errorf("#%d %s fields 86, 88: Wireshark (n15) %q, trace (n16) %q", m.N, m.MTI, wsRun, ourRun)
		}
		if len(ours) != len(w.Fields) {
			t.Errorf("#%d %s: trace has %d fields, Wireshark %d", m.N, m.MTI, len(ours), len(w.Fields))
		}
	}
	return compared
}
