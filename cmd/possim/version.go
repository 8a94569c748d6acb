package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

func init() {
	register("version", "print the module version and VCS revision possim was built from", runVersion)
}

func runVersion(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet(env, "version", "possim version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(env.Stdout, versionLine(bi))
	return nil
}

// versionLine is "possim MODULE VERSION", then the VCS revision, its time
// and "modified" when the build stamped them (go build in a checkout does;
// go run and go test do not).
func versionLine(bi *debug.BuildInfo) string {
	if bi == nil {
		return "possim (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	parts := []string{"possim", bi.Main.Path, v}
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	if r := set["vcs.revision"]; r != "" {
		parts = append(parts, set["vcs"]+" "+r)
		if t := set["vcs.time"]; t != "" {
			parts = append(parts, t)
		}
		if set["vcs.modified"] == "true" {
			parts = append(parts, "modified")
		}
	} else {
		parts = append(parts, "(no VCS revision stamped)")
	}
	return strings.Join(parts, " ")
}
