package pinpad

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/possim/possim/card"
	"github.com/possim/possim/profile"
	"github.com/possim/possim/virtualdevices/serial"
)

// The host's session PIN key for these tests, and its wrapped form.
var sessionKey = []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x01}

type lab struct {
	p      *Pad
	d      *Driver
	tmk    []byte
	mu     sync.Mutex
	events []Event
	// onPrompt, if set, is what the cardholder does when the prompt shows.
	onPrompt func(*Pad)
}

func (l *lab) kinds() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Kind)
	}
	return strings.Join(out, " ")
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{tmk: profile.Default().Keys.TMK()}
	p, err := New(Config{MasterKey: l.tmk, OnEvent: func(e Event) {
		l.mu.Lock()
		l.events = append(l.events, e)
		f := l.onPrompt
		l.mu.Unlock()
		if strings.Contains(e.Detail, "4761739001010010") {
			t.Errorf("event %+v carries a clear PAN", e)
		}
		if e.Kind == "prompt" && f != nil {
			f(l.p)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	dev, pos := serial.Pipe()
	p.Attach(dev)
	l.p = p
	l.d = NewDriver(pos, DriverConfig{})
	t.Cleanup(func() {
		l.d.Close()
		p.Close()
	})
	return l
}

func (l *lab) loadKey(t *testing.T) {
	t.Helper()
	enc, err := card.EncryptKey(l.tmk, sessionKey)
	if err != nil {
		t.Fatal(err)
	}
	kcv, _ := card.KCV(sessionKey)
	if err := l.d.LoadKey(t.Context(), enc, kcv); err != nil {
		t.Fatalf("LoadKey: %v", err)
	}
}

func TestPINEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		ctx := t.Context()
		if kcv, err := l.d.KeyCheck(ctx); err != nil || kcv != "" {
			t.Fatalf("before LoadKey: %q, %v", kcv, err)
		}
		if _, err := l.d.GetPIN(ctx, "4761739001010010", 1234, 30*time.Second); !errors.Is(err, ErrNoKey) {
			t.Fatalf("no key: err = %v, want ErrNoKey", err)
		}
		l.loadKey(t)
		want, _ := card.KCV(sessionKey)
		if kcv, err := l.d.KeyCheck(ctx); err != nil || kcv != want {
			t.Errorf("KeyCheck = %q, %v; want %s", kcv, err, want)
		}

		var shown string
		l.onPrompt = func(p *Pad) {
			shown = p.Display()
			time.Sleep(4 * time.Second) // the cardholder thinks, then types
			if err := p.Type("1234"); err != nil {
				t.Error(err)
			}
		}
		blk, err := l.d.GetPIN(ctx, "4761739001010010", 1234, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if shown != "AMOUNT 12.34\nENTER PIN" {
			t.Errorf("display at prompt = %q", shown)
		}
		// The host decrypts the block with the session key.
		pin, err := card.DecryptPIN(sessionKey, blk, "4761739001010010")
		if err != nil || pin != "1234" {
			t.Errorf("host decrypts %q, %v; want 1234", pin, err)
		}
		if got := l.p.Display(); got != "PLEASE WAIT" {
			t.Errorf("display after entry = %q", got)
		}
		if k := l.kinds(); !strings.Contains(k, "key-loaded display prompt pin-entered display") {
			t.Errorf("events = %s", k)
		}
	})
}

// TestX98Vector checks the pad's block against the published ISO 9564 /
// ANSI X9.8 format 0 example: PIN 1234, PAN 43219876543210987.
func TestX98Vector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.loadKey(t)
		l.p.Type("1234") // typed ahead: held for the prompt
		blk, err := l.d.GetPIN(t.Context(), "43219876543210987", 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		clear, err := card.TDESDecrypt(sessionKey, blk)
		if err != nil {
			t.Fatal(err)
		}
		want := []byte{0x04, 0x12, 0xAC, 0x89, 0xAB, 0xCD, 0xEF, 0x67}
		if !bytes.Equal(clear, want) {
			t.Errorf("clear block = %X, want %X", clear, want)
		}
	})
}

func TestPINEndings(t *testing.T) {
	for _, c := range []struct {
		name    string
		act     func(l *lab)
		want    error
		display string
	}{
		{"cardholder cancels", func(l *lab) {
			l.onPrompt = func(p *Pad) { p.Cancel() }
		}, ErrCancelled, "CANCELLED"},
		{"nobody types", func(l *lab) {}, ErrTimeout, "TIMEOUT"},
		{"cancel pressed early", func(l *lab) { l.p.Cancel() }, ErrCancelled, "CANCELLED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				l.loadKey(t)
				c.act(l)
				start := time.Now()
				_, err := l.d.GetPIN(t.Context(), "4761739001010010", 500, 30*time.Second)
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				if c.want == ErrTimeout && time.Since(start) != 30*time.Second {
					t.Errorf("timed out after %v of virtual time, want 30s", time.Since(start))
				}
				if got := l.p.Display(); got != c.display {
					t.Errorf("display = %q, want %q", got, c.display)
				}
				// The pad is free again.
				l.p.Type("4321")
				if _, err := l.d.GetPIN(t.Context(), "4761739001010010", 500, time.Minute); err != nil {
					t.Errorf("next prompt: %v", err)
				}
			})
		})
	}
}

func TestCancelByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		l.loadKey(t)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := l.d.GetPIN(ctx, "4761739001010010", 500, 30*time.Second); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if l.p.Display() != "CANCELLED" {
			t.Errorf("display = %q, want the prompt cancelled", l.p.Display())
		}
		if err := l.d.Status(t.Context()); err != nil {
			t.Error(err)
		}
	})
}

func TestKeyAndDisplayErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		ctx := t.Context()
		enc, _ := card.EncryptKey(l.tmk, sessionKey)
		if err := l.d.LoadKey(ctx, enc, "000000"); !errors.Is(err, ErrKeyCheck) {
			t.Errorf("bad KCV: err = %v, want ErrKeyCheck", err)
		}
		var de *DeviceError
		if err := l.d.LoadKey(ctx, enc[:8], "000000"); !errors.As(err, &de) {
			t.Errorf("short key: err = %v, want *DeviceError", err)
		}
		if l.p.KeyLoaded() != "" {
			t.Error("a rejected key was loaded")
		}
		if err := l.d.Display(ctx, "THANK YOU\n谢谢"); err != nil {
			t.Fatal(err)
		}
		if got := l.p.Display(); got != "THANK YOU\n谢谢" {
			t.Errorf("display = %q", got)
		}
		l.loadKey(t)
		if _, err := l.d.GetPIN(ctx, "4761", 1, time.Second); !errors.As(err, &de) {
			t.Errorf("short PAN: err = %v, want *DeviceError", err)
		}
		if err := l.p.Type("12"); err == nil {
			t.Error("a 2-digit PIN was accepted")
		}
		l.p.Break()
		if err := l.d.Status(ctx); !errors.Is(err, ErrNoPinPad) {
			t.Errorf("broken: err = %v, want ErrNoPinPad", err)
		}
		l.p.Fix()
		if err := l.d.Status(ctx); err != nil {
			t.Errorf("fixed: %v", err)
		}
	})
}

func TestNewRejectsBadKey(t *testing.T) {
	if _, err := New(Config{MasterKey: []byte{1, 2, 3}}); err == nil {
		t.Error("3-byte master key accepted")
	}
}
