package card

import (
	"fmt"
	"strings"
)

// Track2Data is the content of an ISO 7813 track 2.
type Track2Data struct {
	PAN, Expiry, ServiceCode, Discretionary string // Expiry is YYMM
}

// Track1Data is the content of an ISO 7813 track 1, format code B.
type Track1Data struct {
	PAN, Name, Expiry, ServiceCode, Discretionary string
}

// TrackError reports a track that does not follow ISO 7813.
type TrackError struct {
	Track  int
	Reason string
}

func (e *TrackError) Error() string { return fmt.Sprintf("card: bad track %d: %s", e.Track, e.Reason) }

// Track2 returns track 2 data without sentinels or LRC, the form carried in
// ISO 8583 field 35: PAN=YYMMSSSDDD.
func Track2(pan, expiryYYMM, serviceCode, discretionary string) string {
	return pan + "=" + expiryYYMM + serviceCode + discretionary
}

// ParseTrack2 decodes track 2 data, with or without the ';' and '?'
// sentinels; 'D' is accepted as the separator as in packed field 35.
func ParseTrack2(s string) (Track2Data, error) {
	var t Track2Data
	s = strings.TrimPrefix(s, ";")
	s = strings.TrimSuffix(s, "?")
	if len(s) > 37 {
		return t, &TrackError{2, fmt.Sprintf("%d characters, at most 37", len(s))}
	}
	sep := strings.IndexAny(s, "=Dd")
	if sep < 0 {
		return t, &TrackError{2, "no field separator"}
	}
	pan, rest := s[:sep], s[sep+1:]
	if err := checkPAN(pan); err != nil {
		return t, &TrackError{2, err.Error()}
	}
	if len(rest) < 7 {
		return t, &TrackError{2, "expiry and service code missing"}
	}
	if !isDigits(rest) {
		return t, &TrackError{2, "non-digit after separator"}
	}
	return Track2Data{PAN: pan, Expiry: rest[:4], ServiceCode: rest[4:7], Discretionary: rest[7:]}, nil
}

// Track1 returns track 1 in format B with sentinels:
// %B PAN ^ NAME ^ YYMM SSS discretionary ?. The name is upper-cased,
// characters the track cannot carry become spaces, and it is cut to 26.
func Track1(pan, name, expiryYYMM, serviceCode, discretionary string) string {
	n := []byte(strings.ToUpper(name))
	for i, c := range n {
		if !track1Char(c) {
			n[i] = ' '
		}
	}
	if len(n) > 26 {
		n = n[:26]
	}
	for len(n) < 2 {
		n = append(n, ' ')
	}
	return "%B" + pan + "^" + string(n) + "^" + expiryYYMM + serviceCode + discretionary + "?"
}

// ParseTrack1 decodes format B track 1, with or without the '%' and '?'
// sentinels.
func ParseTrack1(s string) (Track1Data, error) {
	var t Track1Data
	s = strings.TrimPrefix(s, "%")
	s = strings.TrimSuffix(s, "?")
	if len(s) > 77 {
		return t, &TrackError{1, fmt.Sprintf("%d characters between sentinels, at most 77", len(s))}
	}
	if !strings.HasPrefix(s, "B") {
		return t, &TrackError{1, "format code is not B"}
	}
	parts := strings.SplitN(s[1:], "^", 3)
	if len(parts) != 3 {
		return t, &TrackError{1, "want PAN^NAME^DATA"}
	}
	pan, name, rest := parts[0], parts[1], parts[2]
	if err := checkPAN(pan); err != nil {
		return t, &TrackError{1, err.Error()}
	}
	if len(name) < 2 || len(name) > 26 {
		return t, &TrackError{1, fmt.Sprintf("name of %d characters, want 2..26", len(name))}
	}
	for i := 0; i < len(name); i++ {
		if !track1Char(name[i]) {
			return t, &TrackError{1, "invalid character in name"}
		}
	}
	if len(rest) < 7 || !isDigits(rest[:7]) {
		return t, &TrackError{1, "expiry and service code must be 7 digits"}
	}
	for i := 7; i < len(rest); i++ {
		if !track1Char(rest[i]) {
			return t, &TrackError{1, "invalid character in discretionary data"}
		}
	}
	return Track1Data{PAN: pan, Name: name, Expiry: rest[:4], ServiceCode: rest[4:7], Discretionary: rest[7:]}, nil
}

// track1Char reports whether c is in the ISO 7811 six-bit alphabet (0x20 to
// 0x5F) and is not one of the sentinels or the separator.
func track1Char(c byte) bool {
	return c >= 0x20 && c <= 0x5F && c != '^' && c != '%' && c != '?'
}

func checkPAN(pan string) error {
	if len(pan) < 12 || len(pan) > 19 || !isDigits(pan) {
		return fmt.Errorf("PAN must be 12 to 19 digits (got %d characters)", len(pan))
	}
	return nil
}
