package scenarios

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestJUnitClassnames: every testcase of the JUnit report has the feature
// file as classname, and the rows of an outline are named by their
// example values, not "name #1", "name #2".
func TestJUnitClassnames(t *testing.T) {
	dir := t.TempDir()
	feature := tinyFeature(t, dir)
	file := filepath.Join(dir, "junit.xml")
	res, text := runBubbled(t, Options{Paths: []string{feature}, Format: "progress,junit:" + file})
	if len(res.Scenarios) != 5 {
		t.Fatalf("%d scenarios, want 5:\n%s", len(res.Scenarios), text)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Class   string    `xml:"classname,attr"`
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
				Out     string    `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "Tiny" {
		t.Fatalf("suites %+v, want one named Tiny\n%s", doc.Suites, b)
	}
	var got []string
	for _, c := range doc.Suites[0].Cases {
		if c.Class != feature {
			t.Errorf("testcase %q: classname %q, want %q", c.Name, c.Class, feature)
		}
		if !strings.HasPrefix(c.Out, feature+":") {
			t.Errorf("testcase %q: system-out %q, want its %s:LINE", c.Name, c.Out, feature)
		}
		mark := "ok"
		if c.Failure != nil {
			mark = "failure"
		}
		if c.Error != nil {
			mark = "error"
		}
		got = append(got, c.Name+": "+mark)
	}
	want := []string{"a lab starts: ok", "a typo: error", "no receipt: failure", "receipts 0 (n = 0): ok", "receipts 1 (n = 1): failure"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("testcases (-want +got):\n%s\n%s", d, b)
	}
	if doc.Tests != 5 || doc.Failures != 2 {
		t.Errorf("tests %d failures %d, want 5 and 2", doc.Tests, doc.Failures)
	}
}

// TestReportShowsStepArguments: the HTML report shows a step's data table
// and the example values of an outline's rows, grouped under the file.
func TestReportShowsStepArguments(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "basket.feature")
	const text = `Feature: Basket

  Scenario Outline: scan a basket
    Given a lab with the default profile
    When the cashier scans these products:
      | product   | qty   |
      | green tea | <qty> |

    Examples:
      | qty |
      | 1   |
      | 2   |
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "report.html")
	res, out := runBubbled(t, Options{Paths: []string{path}, Format: "progress", HTML: html})
	if res.Status != 0 {
		t.Fatalf("status %d:\n%s", res.Status, out)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		`data-file="` + path + `"`,
		`<span class="ex">qty = 1</span>`, `<span class="ex">qty = 2</span>`,
		`<th>product</th><th>qty</th>`, `<td>green tea</td><td>2</td>`,
		`<b>When </b>the cashier scans these products:`,
		`2 passed`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
