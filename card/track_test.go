package card

import (
	"errors"
	"testing"
)

func TestTrack2(t *testing.T) {
	s := Track2("4761739001010010", "3012", "201", "12345")
	if s != "4761739001010010=301220112345" {
		t.Fatalf("Track2 = %q", s)
	}
	for _, in := range []string{s, ";" + s + "?", "4761739001010010D301220112345"} {
		got, err := ParseTrack2(in)
		if err != nil {
			t.Fatalf("ParseTrack2(%q): %v", in, err)
		}
		want := Track2Data{PAN: "4761739001010010", Expiry: "3012", ServiceCode: "201", Discretionary: "12345"}
		if got != want {
			t.Errorf("ParseTrack2(%q) = %+v, want %+v", in, got, want)
		}
	}
	var te *TrackError
	for _, bad := range []string{"", "4761739001010010", "47617=3012201", "4761739001010010=3012",
		"4761739001010010=30122011234567890123456", "4761739001010010=30X2201", "47617390010100101234=3012201"} {
		if _, err := ParseTrack2(bad); !errors.As(err, &te) || te.Track != 2 {
			t.Errorf("ParseTrack2(%q) err = %v, want *TrackError", bad, err)
		}
	}
}

func TestTrack1(t *testing.T) {
	s := Track1("4761739001010010", "Cardholder/Visa", "3012", "201", "0000")
	if s != "%B4761739001010010^CARDHOLDER/VISA^30122010000?" {
		t.Fatalf("Track1 = %q", s)
	}
	got, err := ParseTrack1(s)
	if err != nil {
		t.Fatal(err)
	}
	want := Track1Data{PAN: "4761739001010010", Name: "CARDHOLDER/VISA", Expiry: "3012", ServiceCode: "201", Discretionary: "0000"}
	if got != want {
		t.Errorf("ParseTrack1 = %+v, want %+v", got, want)
	}
	// Characters a track cannot carry are replaced, long names cut.
	s = Track1("4761739001010010", "a^b?c%d 王 very long name indeed here", "3012", "101", "")
	got, err = ParseTrack1(s)
	if err != nil {
		t.Fatalf("ParseTrack1(%q): %v", s, err)
	}
	if len(got.Name) != 26 || got.ServiceCode != "101" {
		t.Errorf("sanitised track = %+v", got)
	}
	var te *TrackError
	for _, bad := range []string{"", "%A4761739001010010^NAME^3012201?", "%B4761739001010010^NAME?",
		"%B4761^NAME^3012201?", "%B4761739001010010^N^3012201?", "%B4761739001010010^NAME^30A2201?",
		"%B4761739001010010^NAME^3012201\x01?"} {
		if _, err := ParseTrack1(bad); !errors.As(err, &te) || te.Track != 1 {
			t.Errorf("ParseTrack1(%q) err = %v, want *TrackError", bad, err)
		}
	}
}

func FuzzParseTrack2(f *testing.F) {
	seeds(f, "track2", false)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseTrack2(string(b))
		if err != nil {
			return
		}
		again, err := ParseTrack2(Track2(d.PAN, d.Expiry, d.ServiceCode, d.Discretionary))
		if err != nil || again != d {
			t.Fatalf("round trip %+v -> %+v, %v", d, again, err)
		}
	})
}

func FuzzParseTrack1(f *testing.F) {
	seeds(f, "track1", false)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseTrack1(string(b))
		if err != nil {
			return
		}
		again, err := ParseTrack1(Track1(d.PAN, d.Name, d.Expiry, d.ServiceCode, d.Discretionary))
		if err != nil || again != d {
			t.Fatalf("round trip %+v -> %+v, %v", d, again, err)
		}
	})
}
