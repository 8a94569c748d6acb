package serial

import (
	"io"
	"sync"
)

// Pipe returns the two ends of an in-memory, buffered, full-duplex link. A
// Write never waits for the reader (like a UART with a buffer); Close on one
// end gives the other end io.EOF after the buffered data, and makes its
// Writes fail with io.ErrClosedPipe. It blocks only on sync.Cond, so it works
// inside testing/synctest bubbles.
func Pipe() (Port, Port) {
	ab, ba := newPipeBuf(), newPipeBuf()
	return &pipeEnd{r: ba, w: ab}, &pipeEnd{r: ab, w: ba}
}

// pipeBuf is one direction of a Pipe.
type pipeBuf struct {
	mu      sync.Mutex
	cond    *sync.Cond
	data    []byte
	wClosed bool // writer end closed: reader gets EOF after data
	rClosed bool // reader end closed: writer gets ErrClosedPipe
}

func newPipeBuf() *pipeBuf {
	b := &pipeBuf{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

type pipeEnd struct {
	r, w *pipeBuf
}

func (e *pipeEnd) Read(p []byte) (int, error) {
	b := e.r
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.data) == 0 && !b.wClosed && !b.rClosed {
		b.cond.Wait()
	}
	if b.rClosed {
		return 0, io.ErrClosedPipe
	}
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	if len(b.data) == 0 {
		b.data = nil // let the backing array go
	}
	return n, nil
}

func (e *pipeEnd) Write(p []byte) (int, error) {
	b := e.w
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wClosed || b.rClosed {
		return 0, io.ErrClosedPipe
	}
	b.data = append(b.data, p...)
	b.cond.Broadcast()
	return len(p), nil
}

func (e *pipeEnd) Close() error {
	e.w.mu.Lock()
	e.w.wClosed = true
	e.w.cond.Broadcast()
	e.w.mu.Unlock()

	e.r.mu.Lock()
	e.r.rClosed = true
	e.r.data = nil
	e.r.cond.Broadcast()
	e.r.mu.Unlock()
	return nil
}
