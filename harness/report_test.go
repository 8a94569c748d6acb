package harness

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteHTMLGroupsAndArguments: scenarios are grouped by feature file
// with counts per group, doc strings are shown escaped, and the ladder
// names fields.
func TestWriteHTMLGroupsAndArguments(t *testing.T) {
	scenarios := []ScenarioReport{
		{Feature: "Sale", Name: "approved", URI: "features/sale.feature:3", Status: "passed",
			Steps:  []StepReport{{Keyword: "Given ", Text: "a note:", Status: "passed", DocString: "<b>bold</b>\nline 2"}},
			Ladder: []Event{{Kind: "iso_in", MTI: "0210", Fields: map[string]string{"39": "00"}}}},
		{Feature: "Sale", Name: "declined", URI: "features/sale.feature:9", Status: "failed", Error: "want 00, got 51"},
		{Feature: "Void", Name: "voided", URI: "features/void.feature:4", Status: "undefined"},
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, RunSummary{Title: "t", Passed: 1, Failed: 1, Other: 1}, scenarios); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`data-file="features/sale.feature"`, `data-file="features/void.feature"`,
		`<span class="p">1 passed</span><span class="f">1 failed</span><span class="o">0 other</span>`,
		`<span class="p">0 passed</span><span class="f">0 failed</span><span class="o">1 other</span>`,
		`data-status="skipped"`,
		`<pre class="doc">&lt;b&gt;bold&lt;/b&gt;` + "\nline 2</pre>",
		`39 response code = 00 (approved)`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>bold</b>") {
		t.Error("a doc string reached the page unescaped")
	}
	if n := strings.Count(page, `<details class="group"`); n != 2 {
		t.Errorf("%d groups, want 2", n)
	}
}
