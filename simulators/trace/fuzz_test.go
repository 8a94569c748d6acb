package trace

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/possim/possim/simulators/iso"
)

// seedLines adds every line of the testdata files matching glob.
func seedLines(f *testing.F, glob string) {
	paths, _ := filepath.Glob(glob)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			f.Add(sc.Text())
		}
	}
}

// builtinDialects loads every built-in dialect: the fuzz targets read
// their input in each.
func builtinDialects(f *testing.F) []*iso.Dialect {
	var ds []*iso.Dialect
	for _, name := range iso.BuiltinDialects() {
		d, err := iso.LoadDialect(name)
		if err != nil {
			f.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

// checkMasked fails when a decoded message shows a field in clear that
// must never be: the PAN unmasked, or track, PIN block or ICC data.
func checkMasked(t *testing.T, tr *Trace) {
	for _, m := range tr.Messages {
		if len(m.Head) > headLen {
			t.Fatalf("malformed frame shows %d bytes; at most %d", len(m.Head), headLen)
		}
		for _, f := range m.Fields {
			switch f.Num {
			case 35, 36, 45, 52, 55:
				if !strings.HasPrefix(f.Value, "[") {
					t.Fatalf("field %d shown as %q", f.Num, f.Value)
				}
			}
		}
	}
}

func FuzzHexLine(f *testing.F) {
	seedLines(f, "testdata/*.hex")
	f.Add("12:00:00.123 > 0012 3038303020")
	f.Add("[2026-11-30 12:00:00.5] IN zz")
	f.Add("IN 001a6000050000020070000000008000001900000000000000004254455230303031")
	dialects := builtinDialects(f)
	f.Fuzz(func(t *testing.T, line string) {
		for _, d := range dialects {
			tr, err := Read(strings.NewReader(line), Options{Dialect: d})
			if err != nil {
				continue
			}
			checkMasked(t, tr)
			if len(tr.Messages)+len(tr.Problems) == 0 && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#") {
				t.Fatalf("%s: line %q neither read nor reported", d.Name, line)
			}
		}
	})
}

func FuzzJSONL(f *testing.F) {
	seedLines(f, "testdata/*.jsonl")
	f.Add(`{"seq":1,"at_ns":5,"source":"host","kind":"iso_in","mti":"0200","fields":{"2":"4761739001010010"}}`)
	f.Add(`{"t":"2026-11-30T12:00:00Z","dir":"dev->pos","hex":"3b34373631373339303031303130303130"}`)
	f.Fuzz(func(t *testing.T, line string) {
		tr, err := Read(strings.NewReader(line), Options{})
		if err != nil {
			return
		}
		for _, m := range tr.Messages {
			if strings.Contains(m.Text, "4761739001010010") {
				t.Fatalf("device text shows a PAN: %s", m.Text)
			}
		}
	})
}

func FuzzPcap(f *testing.F) {
	for _, p := range []string{"testdata/session.pcapng"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	c := newCap(f)
	c.handshake()
	c.send(true, frame(f, "0800", "000001"))
	c.send(false, frame(f, "0810", "000001")[:7])
	f.Add(c.buf.Bytes())
	dialects := builtinDialects(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, d := range dialects {
			tr, err := Read(bytes.NewReader(b), Options{Dialect: d})
			if err != nil {
				continue
			}
			checkMasked(t, tr)
		}
	})
}
