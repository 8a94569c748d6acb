package scenarios

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possim/possim/simulators/acquirer"
)

func TestWithoutCertify(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "~@certify"},
		{"@wired", "@wired && ~@certify"},
		{"@a && ~@b, @c", "@a && ~@b && ~@certify, @c && ~@certify"},
	} {
		if got := withoutCertify(tc.in); got != tc.want {
			t.Errorf("withoutCertify(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if matchTags(withoutCertify(tc.in), []string{"@certify", "@a", "@c", "@wired"}) {
			t.Errorf("%q still selects a @certify case", withoutCertify(tc.in))
		}
	}
}

// TestRunLeavesCertifyOut: possim run never runs the certify plan, which
// needs a real terminal.
func TestRunLeavesCertifyOut(t *testing.T) {
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Paths: []string{"../features/certify"}, Output: &out, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Empty() {
		t.Errorf("possim run ran %d certify cases:\n%s", len(res.Scenarios), out.String())
	}
}

// TestAnswerOfRepeat: a repeat (0401) carries the reversal's STAN and gets
// the same answer type (0410); its answer is not the unanswered 0400's.
func TestAnswerOfRepeat(t *testing.T) {
	t0 := time.Now()
	ev := func(ms int, dir, mti, note string) acquirer.Event {
		return acquirer.Event{Time: t0.Add(time.Duration(ms) * time.Millisecond), Dir: dir, MTI: mti, Note: note,
			Fields: map[string]string{"11": "000004", "41": "TERM0001"}}
	}
	evs := []acquirer.Event{
		ev(0, "in", "0400", ""), ev(1, "out", "0410", "fault drop: not sent"),
		ev(10, "in", "0401", ""), ev(11, "out", "0410", ""),
	}
	if a, ok := answerOf(evs, evs[0]); ok {
		t.Errorf("the dropped 0400 counts as answered by %+v", a)
	}
	if _, ok := answerOf(evs, evs[2]); !ok {
		t.Error("the 0401 counts as unanswered")
	}
}

func TestMatchValue(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		present   bool
		ok        bool
	}{
		{"000000", "000000", true, true},
		{"000000", "020000", true, false},
		{"/07\\d/", "072", true, true},
		{"/07\\d/", "0721", true, false},
		{"(present)", "x", true, true},
		{"(present)", "", false, false},
		{"(absent)", "", false, true},
		{"(absent)", "x", true, false},
	} {
		if got := matchValue(tc.want, tc.got, tc.present); got != tc.ok {
			t.Errorf("matchValue(%q, %q, %v) = %v", tc.want, tc.got, tc.present, got)
		}
	}
}

func TestMalformed(t *testing.T) {
	ok := acquirer.Event{MTI: "0400", Fields: map[string]string{"3": "000000", "4": "000000001234", "7": "1130212527",
		"11": "000004", "39": "98", "41": "TERM0001", "42": "123456789012345", "90": "020000000311302125270000000000000000000000"}}
	if bad := malformed(ok); len(bad) != 0 {
		t.Errorf("a good 0400 is called malformed: %v", bad)
	}
	bad := acquirer.Event{MTI: "0400", Fields: map[string]string{"3": "000000", "4": "12.34", "7": "1332212527",
		"11": "000004", "39": "98", "41": "TERM0001", "42": "123456789012345"}}
	got := malformed(bad)
	if len(got) != 3 {
		t.Errorf("want 90 missing, 4 and 7 badly formed; got %v", got)
	}
}

// TestCertifyStepsDocumented: docs/certify.md shows every certify step.
func TestCertifyStepsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/certify.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range certifySteps() {
		ex := strings.SplitN(stripKeyword(s.Example), "\n", 2)[0]
		ex = strings.TrimSuffix(ex, ":")
		if !bytes.Contains(doc, []byte(ex)) {
			t.Errorf("docs/certify.md lacks the step %q", ex)
		}
	}
}

// TestCertifySuggestsItsOwnSteps: an undefined step of a certify plan is
// matched against the certify steps, not possim run's.
func TestCertifySuggestsItsOwnSteps(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "typo.feature")
	if err := os.WriteFile(plan, []byte("@certify\nFeature: typo\n  Scenario: typo\n    When the operator setles the batch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := RunCertify(context.Background(), CertifyOptions{Listen: "127.0.0.1:0", Plan: []string{plan}, Output: &out, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == 0 || !strings.Contains(out.String(), "When the operator settles the batch") {
		t.Errorf("want the certify step suggested:\n%s", out.String())
	}
}
