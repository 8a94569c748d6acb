package cardreader

import (
	"io"
	"sync/atomic"
)

// plugPort loses every byte, both ways, while the device is unplugged, as a
// pulled cable does; reads still drain the port so stale frames vanish.
type plugPort struct {
	rwc     io.ReadWriteCloser
	plugged *atomic.Bool
}

func (p *plugPort) Read(b []byte) (int, error) {
	for {
		n, err := p.rwc.Read(b)
		if p.plugged.Load() || err != nil {
			if !p.plugged.Load() {
				n = 0
			}
			return n, err
		}
	}
}

func (p *plugPort) Write(b []byte) (int, error) {
	if !p.plugged.Load() {
		return len(b), nil
	}
	return p.rwc.Write(b)
}

func (p *plugPort) Close() error { return p.rwc.Close() }
