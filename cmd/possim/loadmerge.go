package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/possim/possim/harness/load"
)

// runLoadMerge adds up the reports of several load generators: the
// histograms merged, so the percentiles are those of every request.
func runLoadMerge(args []string, env *Env) error {
	fs := newFlagSet(env, "load merge", `possim load merge a.json b.json --report all.json --html all.html`)
	reportFile := fs.String("report", "", "write the merged report as JSON")
	htmlFile := fs.String("html", "", "write the merged report as one HTML page of charts")
	asJSON := fs.Bool("json", false, "print the merged report as one JSON object")
	var files []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) == 0 {
		return usageErr("give the reports to merge: possim load merge A.json B.json ... (written by possim load --report)")
	}
	reps := make([]*load.Report, len(files))
	for i, f := range files {
		r, err := load.ReadReport(f)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		reps[i] = r
	}
	rep, err := load.MergeReports(files, reps)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := writeLoadReports(rep, *reportFile, *htmlFile); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(env.Stdout, "%d reports: %v\n", len(files), files)
	windows := rep.Windows
	rep.Windows = nil
	rep.WriteText(env.Stdout)
	rep.Windows = windows
	return nil
}

// writeLoadReports writes the JSON report and the HTML page that were
// asked for; a report that cannot be written is bad usage (exit 2), as in
// possim run.
func writeLoadReports(rep *load.Report, reportFile, htmlFile string) error {
	if reportFile != "" {
		if err := rep.WriteFile(reportFile); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	if htmlFile != "" {
		if err := rep.WriteHTMLFile(htmlFile); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	return nil
}

// checkOutputs fails before a run whose reports could not be written
// after it: a soak's figures are not lost to a mistyped folder.
func checkOutputs(files ...string) error {
	for _, f := range files {
		if f == "" {
			continue
		}
		dir := filepath.Dir(f)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("cannot write %s: %w", f, err)}
		}
		tmp, err := os.CreateTemp(dir, "."+filepath.Base(f)+".*")
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("cannot write %s: %w", f, err)}
		}
		tmp.Close()
		os.Remove(tmp.Name())
	}
	return nil
}
