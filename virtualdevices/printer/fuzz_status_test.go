package printer

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// stepLink is a link that tells the test each time the printer waits for
// input with nothing left to read: by then the printer has done everything
// the bytes so far asked for, since Serve reads only after handling.
type stepLink struct {
	in     chan []byte
	idle   chan struct{}
	closed chan struct{}
	rest   []byte

	mu  sync.Mutex
	out []byte
}

func newStepLink() *stepLink {
	return &stepLink{in: make(chan []byte), idle: make(chan struct{}), closed: make(chan struct{})}
}

func (l *stepLink) Read(b []byte) (int, error) {
	if len(l.rest) == 0 {
		select {
		case l.idle <- struct{}{}:
		case <-l.closed:
			return 0, io.EOF
		}
		select {
		case l.rest = <-l.in:
		case <-l.closed:
			return 0, io.EOF
		}
	}
	n := copy(b, l.rest)
	l.rest = l.rest[n:]
	return n, nil
}

func (l *stepLink) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out = append(l.out, b...)
	return len(b), nil
}

func (l *stepLink) Close() error { return nil }

func (l *stepLink) written() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.out...)
}

// waitIdle waits until the printer reads again with nothing left.
func (l *stepLink) waitIdle(t *testing.T, after string) {
	t.Helper()
	select {
	case <-l.idle:
	case <-time.After(10 * time.Second):
		t.Fatalf("printer did not come back to reading after %s", after)
	}
}

// FuzzStatusAlwaysAnswered checks the promise "status answered at once, in
// every state": whatever bytes came before (a command cut short, a header
// announcing gigabytes, garbage), DLE EOT 1 sent next is answered with
// exactly one status byte before the printer waits for more input.
func FuzzStatusAlwaysAnswered(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.escpos"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		for _, cut := range []int{1, 2, 3, 5, 8, 13, 21, 34, 55} {
			if cut < len(data) {
				f.Add(data[:len(data)-cut]) // a receipt cut short
			}
		}
	}
	for _, seed := range [][]byte{
		{gs, 'v', '0', 0, 0xFF, 0xFF, 0xFF, 0xFF},
		{gs, 'v', '0', 0, 72, 0, 100, 0},
		{gs, '8', 'L', 0xFF, 0xFF, 0xFF, 0x7F},
		{esc, '(', 'A', 0xFF, 0xFF},
		{dle}, {dle, eot}, {gs, 'r'}, {esc, 'D'}, {gs, 'k', 4},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, prefix []byte) {
		p := New(Config{})
		defer p.Close()
		l := newStepLink()
		done := make(chan error, 1)
		go func() { done <- p.Serve(t.Context(), l) }()
		defer func() {
			close(l.closed)
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}()
		l.waitIdle(t, "starting")
		if len(prefix) > 0 {
			l.in <- prefix
			l.waitIdle(t, "the prefix")
		}
		before := len(l.written())
		l.in <- []byte{dle, eot, 1}
		l.waitIdle(t, "DLE EOT 1")
		var status []byte
		for _, b := range l.written()[before:] {
			if isStatusByte(b) {
				status = append(status, b)
			}
		}
		if len(status) != 1 || status[0] != statusFixed {
			t.Fatalf("after % X, DLE EOT 1 was answered % X; want exactly 12", prefix, status)
		}
	})
}
