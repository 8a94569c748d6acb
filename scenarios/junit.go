package scenarios

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/cucumber/godog/formatters"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/possim/possim/harness"
)

// possim writes its own JUnit: godog's formatter sets no classname, so CI
// tools lump every scenario of the suite into one class, and it names the
// rows of an outline "name #1", "name #2". Here the classname is the
// feature file, the name carries the example values, and the message
// of a failure is the step's error.
func init() {
	godog.Format("possim-junit", "JUnit XML: a testsuite per feature file, classname the feature file",
		func(suite string, out io.Writer) godog.Formatter {
			c, _ := runsBySuite.Load(suite)
			j := &junit{out: out, start: time.Now()}
			j.c, _ = c.(*collector)
			return j
		})
}

type junit struct {
	c     *collector
	out   io.Writer
	start time.Time
}

type junitSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	// No skipped count here, nor a file on a testcase: the JUnit schema
	// Jenkins' xUnit plugin validates against refuses both (the testsuite
	// has them).
	Time   string        `xml:"time,attr"`
	Suites []*junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	File     string      `xml:"file,attr,omitempty"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	// SystemOut is where the scenario is, "features/x.feature:12": the
	// schema has no attribute for it on a testcase, and a CI page shows
	// the output next to the case, so a failure can be rerun with
	// possim run FILE:LINE.
	SystemOut string `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// junitReport builds the XML of scenarios, one testsuite per feature file.
func junitReport(name string, elapsed time.Duration, scenarios []harness.ScenarioReport) junitSuites {
	all := junitSuites{Name: name, Time: seconds(elapsed)}
	byFile := map[string]*junitSuite{}
	seen := map[string]int{} // classname + name -> times used
	var total time.Duration
	suiteTime := map[*junitSuite]time.Duration{}
	for _, s := range scenarios {
		file := harness.FeatureFile(s.URI)
		ts := byFile[file]
		if ts == nil {
			ts = &junitSuite{Name: s.Feature, File: file}
			byFile[file] = ts
			all.Suites = append(all.Suites, ts)
		}
		tc := junitCase{ClassName: file, Name: s.Name, Time: seconds(s.Elapsed), SystemOut: s.URI}
		if s.Example != "" {
			tc.Name += " (" + s.Example + ")"
		}
		if n := seen[file+"\x00"+tc.Name]; n > 0 {
			tc.Name += fmt.Sprintf(" #%d", n+1)
		}
		seen[file+"\x00"+tc.Name]++
		ts.Tests++
		all.Tests++
		switch s.Status {
		case "passed":
		case "failed":
			tc.Failure = &junitProblem{Message: firstLine(s.Error), Type: "failed", Text: s.Error}
			ts.Failures++
			all.Failures++
		case "skipped":
			tc.Skipped = &junitProblem{Message: "skipped: " + problemStep(s)}
			ts.Skipped++
		default: // undefined, pending, ambiguous: the feature needs work
			tc.Error = &junitProblem{Message: s.Status + ": " + problemStep(s), Type: s.Status, Text: s.Error}
			ts.Errors++
			all.Errors++
		}
		total += s.Elapsed
		suiteTime[ts] += s.Elapsed
		ts.Cases = append(ts.Cases, tc)
	}
	for _, ts := range all.Suites {
		ts.Time = seconds(suiteTime[ts])
	}
	if elapsed == 0 {
		all.Time = seconds(total)
	}
	return all
}

// problemStep names the first step that did not pass.
func problemStep(s harness.ScenarioReport) string {
	for _, st := range s.Steps {
		if st.Status != "passed" {
			return "step " + strings.TrimSpace(st.Keyword+st.Text) + " is " + st.Status
		}
	}
	return s.Status
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// Summary writes the XML: every scenario is in by the time godog calls it.
func (j *junit) Summary() {
	var scenarios []harness.ScenarioReport
	if j.c != nil {
		scenarios = j.c.reports()
	}
	io.WriteString(j.out, xml.Header)
	enc := xml.NewEncoder(j.out)
	enc.Indent("", "  ")
	if err := enc.Encode(junitReport("possim", time.Since(j.start), scenarios)); err != nil {
		fmt.Fprintf(j.out, "<!-- junit: %v -->\n", err)
	}
	io.WriteString(j.out, "\n")
}

// The rest of formatters.Formatter: the collector has it all.

func (j *junit) TestRunStarted()                                                            {}
func (j *junit) Feature(*messages.GherkinDocument, string, []byte)                          {}
func (j *junit) Pickle(*messages.Pickle)                                                    {}
func (j *junit) Defined(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition) {}
func (j *junit) Passed(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition)  {}
func (j *junit) Skipped(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition) {}
func (j *junit) Undefined(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition) {
}
func (j *junit) Failed(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition, error) {
}
func (j *junit) Pending(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition) {}
func (j *junit) Ambiguous(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition, error) {
}
