package scenarios

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// taggedFeature adds tags, which both formats carry, to tinyFeature's
// passes, failure, undefined step, skipped step and outline rows.
const taggedFeature = `@schema
Feature: Tagged

  @one
  Scenario: a tagged lab starts
    Given a lab with the default profile
`

// TestReportSchemas runs real scenarios and validates the JUnit file
// against the JUnit schema Jenkins' xUnit plugin uses and the Cucumber
// JSON against cucumber's published schema (testdata/schemas/README.md
// names the sources). Each schema is also shown a file it must refuse,
// so a schema that accepts anything fails the test.
func TestReportSchemas(t *testing.T) {
	dir := t.TempDir()
	tagged := filepath.Join(dir, "tagged.feature")
	if err := os.WriteFile(tagged, []byte(taggedFeature), 0o644); err != nil {
		t.Fatal(err)
	}
	junitFile, cucumberFile := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "cucumber.json")
	res, text := runBubbled(t, Options{Paths: []string{tinyFeature(t, dir), tagged},
		Format: "progress,junit:" + junitFile + ",cucumber:" + cucumberFile})
	if res.Failed() == 0 || len(res.Scenarios) != 6 {
		t.Fatalf("%d scenarios, %d failed; want 6 with failures:\n%s", len(res.Scenarios), res.Failed(), text)
	}

	t.Run("cucumber", func(t *testing.T) {
		sch := compileJSONSchema(t, filepath.Join("testdata", "schemas", "cucumber.json"))
		b, err := os.ReadFile(cucumberFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateJSON(sch, b); err != nil {
			t.Errorf("%s does not follow the Cucumber JSON schema: %v\n%s", cucumberFile, err, b)
		}
		if !bytes.Contains(b, []byte(`"error_message"`)) || !bytes.Contains(b, []byte(`"@one"`)) {
			t.Errorf("cucumber JSON holds no failure message or no tag, so the schema checked less than it should:\n%s", b)
		}
		bad := `[{"uri":"a.feature","name":"A","elements":[{"type":"scenario","name":"s","line":3,
			"steps":[{"keyword":"Then ","name":"x","line":4,"result":{"status":"failed"}}]}]}]`
		if err := validateJSON(sch, []byte(bad)); err == nil {
			t.Error("the schema accepts a failed step without its error_message")
		}
	})

	t.Run("junit", func(t *testing.T) {
		xmllint, err := exec.LookPath("xmllint")
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("xmllint not found (Debian package libxml2-utils; .ci/run installs it)")
			}
			t.Skip("xmllint not found: install libxml2-utils to validate the JUnit file")
		}
		xsd := filepath.Join("testdata", "schemas", "junit.xsd")
		if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, junitFile).CombinedOutput(); err != nil {
			b, _ := os.ReadFile(junitFile)
			t.Errorf("%s does not follow the JUnit schema: %v\n%s\n%s", junitFile, err, out, b)
		}
		b, err := os.ReadFile(junitFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<failure", "<error"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("JUnit file has no %s, so the schema checked less than it should:\n%s", want, b)
			}
		}
		bad := filepath.Join(t.TempDir(), "bad.xml")
		if err := os.WriteFile(bad, bytes.Replace(b, []byte("<testcase "), []byte(`<testcase bogus="1" `), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, bad).CombinedOutput(); err == nil || !strings.Contains(string(out), "bogus") {
			t.Errorf("xmllint accepts a testcase attribute the schema does not declare: %v\n%s", err, out)
		}
	})
}

func compileJSONSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return sch
}

func validateJSON(sch *jsonschema.Schema, b []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}
