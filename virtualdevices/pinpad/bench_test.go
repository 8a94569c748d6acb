package pinpad

import (
	"testing"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
)

// BenchmarkGetPIN measures one PIN prompt answered at once (PIN typed
// ahead) through the driver, the frame codec and an in-memory pipe.
func BenchmarkGetPIN(b *testing.B) {
	tmk := profile.Default().Keys.TMK()
	p, err := New(Config{MasterKey: tmk})
	if err != nil {
		b.Fatal(err)
	}
	dev, pos := serial.Pipe()
	p.Attach(dev)
	d := NewDriver(pos, DriverConfig{})
	defer p.Close()
	defer d.Close()
	enc, _ := card.EncryptKey(tmk, sessionKey)
	kcv, _ := card.KCV(sessionKey)
	ctx := b.Context()
	if err := d.LoadKey(ctx, enc, kcv); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Type("1234")
		if _, err := d.GetPIN(ctx, "4761739001010010", 1234, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
