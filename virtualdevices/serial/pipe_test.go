package serial

import (
	"io"
	"testing"
	"testing/synctest"
)

func TestPipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		// Writes never wait for the reader.
		for _, s := range []string{"one ", "two ", "three"} {
			if n, err := a.Write([]byte(s)); n != len(s) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", s, n, err)
			}
		}
		b.Write([]byte("back"))
		a.Close()
		got, err := io.ReadAll(b)
		if err != nil || string(got) != "one two three" {
			t.Fatalf("ReadAll after peer Close = %q, %v; want buffered data then EOF", got, err)
		}
		if _, err := b.Write([]byte("x")); err != io.ErrClosedPipe {
			t.Errorf("Write to a closed peer = %v, want io.ErrClosedPipe", err)
		}
		if _, err := a.Read(make([]byte, 1)); err != io.ErrClosedPipe {
			t.Errorf("Read on the closed end = %v, want io.ErrClosedPipe", err)
		}
	})
}

func TestPipeCloseUnblocksRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		defer b.Close()
		errc := make(chan error, 1)
		go func() { _, err := a.Read(make([]byte, 1)); errc <- err }()
		synctest.Wait()
		a.Close()
		if err := <-errc; err != io.ErrClosedPipe {
			t.Errorf("pending Read after own Close = %v, want io.ErrClosedPipe", err)
		}
	})
}
