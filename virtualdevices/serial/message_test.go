package serial

import (
	"bufio"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// readMessages loads testdata/messages.txt: one answer per line, "\n"
// standing for LF. They seed FuzzParseMessage.
func readMessages(tb testing.TB) [][]byte {
	tb.Helper()
	f, err := os.Open("testdata/messages.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, []byte(strings.ReplaceAll(sc.Text(), `\n`, "\n")))
	}
	return out
}

func TestParseMessage(t *testing.T) {
	tests := []struct {
		in      string
		want    Message
		wantErr bool
	}{
		{in: "STATUS OK", want: Message{Cmd: "STATUS", Status: "OK"}},
		{in: "STATUS OK READY NOW", want: Message{Cmd: "STATUS", Status: "OK", Detail: "READY NOW"}},
		{in: "WAIT OK CHIP\nPAN=4761739001010010\nT2=47=61", want: Message{
			Cmd: "WAIT", Status: "OK", Detail: "CHIP",
			Fields: [][2]string{{"PAN", "4761739001010010"}, {"T2", "47=61"}},
		}},
		{in: "LOADKEY OK\nKCV=", want: Message{Cmd: "LOADKEY", Status: "OK", Fields: [][2]string{{"KCV", ""}}}},
		{in: "", wantErr: true},
		{in: "STATUS", wantErr: true},
		{in: " OK", wantErr: true},
		{in: "STATUS OK\nNOEQUALS", wantErr: true},
		{in: "STATUS OK\n=v", wantErr: true},
		{in: "STATUS OK\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseMessage([]byte(tt.in))
		if tt.wantErr {
			if !errors.Is(err, ErrBadMessage) {
				t.Errorf("ParseMessage(%q) error = %v, want ErrBadMessage", tt.in, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMessage(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if enc := string(got.Encode()); enc != tt.in {
			t.Errorf("Encode(ParseMessage(%q)) = %q", tt.in, enc)
		}
	}
}

// TestParseMessageErrorIsMasked: an error repeats no more than the first
// word of a bad answer, since answers carry card data.
func TestParseMessageErrorIsMasked(t *testing.T) {
	_, err := ParseMessage([]byte("4761739001010010=2512\n"))
	if err == nil || strings.Contains(err.Error(), "4761739001010010") {
		t.Errorf("error %v repeats the PAN", err)
	}
}

func TestMessageField(t *testing.T) {
	m := Message{Fields: [][2]string{{"KCV", "AB"}, {"KCV", "CD"}}}
	if got := m.Field("KCV"); got != "AB" {
		t.Errorf("Field(KCV) = %q, want the first, AB", got)
	}
	if got := m.Field("PAN"); got != "" {
		t.Errorf("Field(PAN) = %q, want empty", got)
	}
}

func TestFirstWord(t *testing.T) {
	tests := []struct{ in, want string }{
		{"STATUS", "STATUS"},
		{"WAIT 1000 0 CHIP", "WAIT"},
		{"PIN\n4761", "PIN"},
		{"", "?"},
		{" STATUS", "?"},
		{"\xffSTATUS", "?"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKLMNOP"},
	}
	for _, tt := range tests {
		if got := FirstWord(tt.in); got != tt.want {
			t.Errorf("FirstWord(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseMessage checks that no answer panics the parser and that what
// it accepts survives Encode and ParseMessage unchanged.
func FuzzParseMessage(f *testing.F) {
	for _, m := range readMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		if m.Cmd == "" || m.Status == "" {
			t.Fatalf("parsed %+v from %q", m, b)
		}
		// Encode is canonical ("CMD OK " loses its empty detail's space),
		// so compare what the re-encoded answer parses to.
		if again, err := ParseMessage(m.Encode()); err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("ParseMessage(%q) = %+v, but its encoding %q parses to %+v, %v", b, m, m.Encode(), again, err)
		}
	})
}

func BenchmarkMessageEncodeParse(b *testing.B) {
	m := Message{Cmd: "WAIT", Status: "OK", Detail: "CHIP", Fields: [][2]string{
		{"PAN", "4761739001010010"}, {"EXP", "2512"}, {"ICC", strings.Repeat("9F02", 40)},
	}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(m.Encode()); err != nil {
			b.Fatal(err)
		}
	}
}
