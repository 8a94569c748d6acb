#!/bin/sh
# Regenerates the pictures in docs/img from the browser tests that take
# them: the dashboard of possim demo mid-run, the run report with its
# failed scenario open, and the charts of a load run. Needs Chromium.
set -eu
cd "$(dirname "$0")/.."
POSSIM_SCREENSHOTS=1 go test -count=1 ./harness -run '^TestReportInBrowser$'
POSSIM_SCREENSHOTS=1 go test -count=1 ./cmd/possim -run '^(TestDemoDashboardInBrowser|TestLoadChartsInBrowser)$'
ls -l docs/img/*.png
