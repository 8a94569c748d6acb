package cardreader

import (
	"bufio"
	"bytes"
	"os"
	"testing"
	"testing/synctest"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
)

// FuzzCommand sends one arbitrary command frame to a reader (with a card
// inserted) and checks that it answers with one well-formed answer naming
// the command, whatever the input. WAITs run out in virtual time.
func FuzzCommand(f *testing.F) {
	seedLines(f, "testdata/commands.txt")
	p := profile.Default()
	cards := CardsFromProfile(p.Cards)
	f.Fuzz(func(t *testing.T, cmd []byte) {
		if bytes.ContainsAny(cmd, "\x02\x03") || len(cmd) > serial.DefaultMaxFrame {
			return // cannot be framed
		}
		synctest.Test(t, func(t *testing.T) {
			r, err := New(Config{Cards: cards, IssuerMasterKey: p.Keys.IMK()})
			if err != nil {
				t.Fatal(err)
			}
			r.Insert("visa-credit")
			dev, pos := serial.Pipe()
			r.Attach(dev)
			link := serial.NewFrameLink(pos, serial.FrameConfig{})
			defer r.Close()
			defer link.Close()
			if err := link.Send(t.Context(), cmd); err != nil {
				t.Fatal(err)
			}
			ans, err := link.Recv(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			m, err := serial.ParseMessage(ans)
			if err != nil {
				t.Fatalf("answer %q does not decode: %v", ans, err)
			}
			want := "?"
			if w := bytes.Fields(cmd); len(w) > 0 {
				want = serial.FirstWord(string(w[0]))
			}
			if m.Cmd != want {
				t.Errorf("answer names %q, want %q", m.Cmd, want)
			}
		})
	})
}

// FuzzDecodeMessage feeds arbitrary answers to the driver's decoder.
func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte("WAIT OK CHIP\nPAN=4761739001010010\nICC=9F02"))
	f.Add([]byte("STATUS OK EMPTY"))
	f.Add([]byte("ARPC\n="))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := serial.ParseMessage(b)
		if err != nil {
			return
		}
		if m.Cmd == "" || m.Status == "" {
			t.Fatalf("decoded %+v from %q", m, b)
		}
		if m.Cmd == cmdWait && m.Status == swOK {
			_, _ = readFromMessage(m)
		}
	})
}

func seedLines(f *testing.F, path string) {
	fh, err := os.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add([]byte(sc.Text()))
	}
}
