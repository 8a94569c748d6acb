package cardreader

import (
	"testing"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
)

// BenchmarkChipRead measures one chip read (first GENERATE AC, field 55)
// through the driver, the frame codec and an in-memory pipe.
func BenchmarkChipRead(b *testing.B) {
	p := profile.Default()
	r, err := New(Config{Cards: CardsFromProfile(p.Cards), IssuerMasterKey: p.Keys.IMK()})
	if err != nil {
		b.Fatal(err)
	}
	dev, pos := serial.Pipe()
	r.Attach(dev)
	d := NewDriver(pos, DriverConfig{})
	defer r.Close()
	defer d.Close()
	if err := r.Insert("visa-credit"); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.WaitCard(ctx, sale); err != nil {
			b.Fatal(err)
		}
	}
}
