package acquirer

import (
	"fmt"
	"strconv"

	"github.com/moov-io/iso8583"
)

// numericFields are the request fields that are digits only in ISO
// 8583:1987 (n or n..): the spec keeps them as strings so leading zeros
// survive, which means it lets letters through too.
var numericFields = []struct {
	id   int
	name string
}{
	{2, "PAN"}, {3, "processing code"}, {4, "amount"}, {7, "transmission date and time"},
	{11, "STAN"}, {12, "local time"}, {13, "local date"}, {14, "expiry date"},
	{22, "entry mode"}, {23, "card sequence number"}, {25, "condition code"},
	{49, "currency code"}, {70, "network code"}, {90, "original data"},
}

// formatError is a request field the host cannot accept: answered 30,
// never journaled.
type formatError struct {
	field int
	why   string
}

func (e *formatError) Error() string { return fmt.Sprintf("field %d %s", e.field, e.why) }

// kind names its rate-limited log line: one per field, so a flood of one
// bad field does not hide another.
func (e *formatError) kind() string { return "format field " + strconv.Itoa(e.field) }

// checkFields finds the first field of m that is not what ISO 8583 says it
// is: digits in a numeric field, a real date and time in 7 (MMDDhhmmss),
// 12 (hhmmss) and 13 (MMDD). The value is quoted except for the PAN.
func checkFields(m *iso8583.Message) *formatError {
	for _, f := range numericFields {
		s, ok := present(m, f.id)
		if !ok || digits(s) {
			continue
		}
		if f.id == 2 {
			return &formatError{2, "(PAN): want digits only"}
		}
		return &formatError{f.id, fmt.Sprintf("(%s) %q: want digits only", f.name, s)}
	}
	if s, ok := present(m, 7); ok && !(len(s) == 10 && validMMDD(s[:4]) && validHHMMSS(s[4:])) {
		return &formatError{7, fmt.Sprintf("(transmission date and time) %q: want MMDDhhmmss, a real date and time", s)}
	}
	if s, ok := present(m, 12); ok && !(len(s) == 6 && validHHMMSS(s)) {
		return &formatError{12, fmt.Sprintf("(local time) %q: want hhmmss, a real time", s)}
	}
	if s, ok := present(m, 13); ok && !(len(s) == 4 && validMMDD(s)) {
		return &formatError{13, fmt.Sprintf("(local date) %q: want MMDD, a real date", s)}
	}
	return nil
}

// present is a field's value as a string, when the message has it.
func present(m *iso8583.Message, id int) (string, bool) {
	if m.GetField(id) == nil {
		return "", false
	}
	s, err := m.GetString(id)
	return s, err == nil
}

// daysIn is the most days a month can have; the year is not sent, so
// 29 February is always a date.
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func validMMDD(s string) bool {
	if len(s) != 4 || !digits(s) {
		return false
	}
	mm, dd := two(s[0:]), two(s[2:])
	return mm >= 1 && mm <= 12 && dd >= 1 && dd <= daysIn[mm]
}

func validHHMMSS(s string) bool {
	return len(s) == 6 && digits(s) && two(s[0:]) <= 23 && two(s[2:]) <= 59 && two(s[4:]) <= 59
}

func two(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }
