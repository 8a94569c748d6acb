#!/usr/bin/env bash
# Crash loop: twenty SIGKILLs of the host at random moments under load, each
# followed by a restart on the same ledger and the checks of
# resilience.CrashLoop. Loopback only; bounded by --timeout.
#   scripts/crashloop.sh            # 20 kills
#   scripts/crashloop.sh 50 --conns 16 --seed 7
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-20}"
shift || true
bin="$(mktemp -d)/possim"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/possim
"$bin" crashloop --kills "$kills" --timeout 10m "$@"
