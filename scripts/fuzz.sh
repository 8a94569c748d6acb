#!/usr/bin/env bash
# Runs every fuzz target in the tree, one after another, each for DURATION.
# Targets are found by grep, so a new Fuzz function is picked up without
# editing this file; docs/fuzzing.md lists them, and --check-doc fails when
# a target is missing from that list.
#
#   scripts/fuzz.sh 30s              # every target for 30 s
#   scripts/fuzz.sh 5m cardreader    # only targets whose package or name matches
#   scripts/fuzz.sh --list           # package and target, one per line
#   scripts/fuzz.sh --check-doc      # every target named in docs/fuzzing.md?
#
# A crasher is written by go test to the package's testdata/fuzz/<Target>/;
# commit it once fixed, and it runs as a seed in every plain go test. The
# script goes on after a failure and exits 1 at the end if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

targets() {
  grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . |
    sed -E 's#^\./(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort -u
}

case "${1:-}" in
--list)
  targets
  exit 0
  ;;
--check-doc)
  missing=0
  while read -r pkg name; do
    if ! grep -q "| \`$pkg\` | \`$name\` |" docs/fuzzing.md; then
      echo "docs/fuzzing.md does not list $pkg $name" >&2
      missing=1
    fi
  done < <(targets)
  exit $missing
  ;;
""|-h|--help)
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac

duration="$1"
filter="${2:-}"
failed=()
n=0
start=$SECONDS
while read -r pkg name; do
  if [ -n "$filter" ] && [[ "$pkg $name" != *"$filter"* ]]; then
    continue
  fi
  n=$((n + 1))
  echo "== $pkg $name ($duration)"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" "./$pkg"; then
    failed+=("$pkg $name")
  fi
done < <(targets)

echo "fuzzed $n targets in $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
