package pinpad

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
)

// FuzzCommand sends one arbitrary command frame to a pad and checks that it
// answers with one well-formed answer naming the command. PIN prompts run
// out in virtual time.
func FuzzCommand(f *testing.F) {
	fh, err := os.Open("testdata/commands.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add([]byte(sc.Text()))
	}
	fh.Close()
	tmk := profile.Default().Keys.TMK()
	f.Fuzz(func(t *testing.T, cmd []byte) {
		if bytes.ContainsAny(cmd, "\x02\x03") || len(cmd) > serial.DefaultMaxFrame {
			return // cannot be framed
		}
		synctest.Test(t, func(t *testing.T) {
			p, err := New(Config{MasterKey: tmk})
			if err != nil {
				t.Fatal(err)
			}
			dev, pos := serial.Pipe()
			p.Attach(dev)
			link := serial.NewFrameLink(pos, serial.FrameConfig{})
			defer p.Close()
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
			name := string(cmd)
			if i := strings.IndexAny(name, " \n"); i >= 0 {
				name = name[:i]
			}
			if want := serial.FirstWord(name); m.Cmd != want {
				t.Errorf("answer names %q, want %q", m.Cmd, want)
			}
		})
	})
}
