package trace

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/possim/possim/profile"
	"github.com/possim/possim/scenarios"
)

// The feature made from the session passes in the lab, and the lab's
// timeline shows the same messages and codes as the trace.
func TestFeatureReproducesSession(t *testing.T) {
	for _, file := range []string{"session.pcapng", "session-host.jsonl"} {
		t.Run(file, func(t *testing.T) {
			tr := readFile(t, filepath.Join("testdata", file), Options{})
			dir := t.TempDir()
			feature := filepath.Join(dir, "session.feature")
			var buf bytes.Buffer
			if err := WriteFeature(&buf, tr, file, profile.Default()); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(feature, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{`Given the host answers the next sale with "51"`, "Given the host does not answer the next sale",
				"And the batch totals are 2 sales for 42.34 and 1 refund for 5.00"} {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("feature lacks %q:\n%s", w, buf.String())
				}
			}
			timelines := filepath.Join(dir, "timeline")
			var out bytes.Buffer
			res, err := scenarios.Run(context.Background(), scenarios.Options{Paths: []string{feature}, TimelineDir: timelines,
				Seed: 1, Concurrency: 1, Output: &out, TimeScale: 0.05})
			if err != nil {
				t.Fatal(err)
			}
			if res.Passed() != 1 || res.Failed() != 0 {
				t.Fatalf("the generated feature does not pass:\n%s\n%s", buf.String(), out.String())
			}
			entries, err := os.ReadDir(timelines)
			if err != nil || len(entries) != 1 {
				t.Fatalf("want one timeline in %s: %v %v", timelines, entries, err)
			}
			tl := readFile(t, filepath.Join(timelines, entries[0].Name()), Options{})
			if got, want := Sequence(tl), Sequence(tr); !slices.Equal(got, want) {
				t.Errorf("lab sequence differs from the trace's:\n got %v\nwant %v", got, want)
			}
		})
	}
}
