#!/usr/bin/env bash
# A throwaway PostgreSQL for the ledger's PostgreSQL tests: a cluster in a
# temporary directory, listening only on a Unix socket there, trust auth.
#
# Sourced (what .ci/run does): starts the server, exports
# POSSIM_TEST_POSTGRES and stops the server and removes the directory when
# the sourcing shell exits (an EXIT trap).
#
#   . scripts/pg-test-server.sh && go test ./simulators/ledger/
#
# Run (locally): starts it, prints the export line, and keeps it up until
# Ctrl-C.
#
#   scripts/pg-test-server.sh
#
# initdb refuses to run as root, so as root the cluster belongs to nobody.
# When initdb is not installed, Debian's postgresql package is installed.

pg_test_server_start() {
  local bindir
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    bindir=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
  else
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  fi
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    local sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  PG_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/possim-pg.XXXXXX")
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    chown nobody "$PG_TEST_DIR"
    local runuser
    runuser=$(PATH="$PATH:/usr/sbin:/sbin" command -v runuser) ||
      { echo "pg-test-server: runuser not found (util-linux)"; rm -rf "$PG_TEST_DIR"; return 1; }
    as=("$runuser" -u nobody --)
  fi
  "${as[@]}" "$bindir/initdb" -D "$PG_TEST_DIR/data" -U possim --auth=trust -E UTF8 >"$PG_TEST_DIR/initdb.log" 2>&1 ||
    { cat "$PG_TEST_DIR/initdb.log"; rm -rf "$PG_TEST_DIR"; return 1; }
  # No TCP listener: the socket in the directory is the only way in, so
  # parallel runs never collide on a port. fsync stays on: the tests check
  # what a committed transaction is.
  "${as[@]}" "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -s \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_TEST_DIR' -c max_connections=200" start ||
    { cat "$PG_TEST_DIR/server.log"; rm -rf "$PG_TEST_DIR"; return 1; }
  PG_TEST_STOP=("${as[@]}" "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -s stop)
  "$bindir/createdb" -h "$PG_TEST_DIR" -U possim possim || { pg_test_server_stop; return 1; }
  export POSSIM_TEST_POSTGRES="postgres://possim@/possim?host=$PG_TEST_DIR"
}

pg_test_server_stop() {
  if [ -n "${PG_TEST_DIR:-}" ]; then
    "${PG_TEST_STOP[@]}" || true
    rm -rf "$PG_TEST_DIR"
    PG_TEST_DIR=""
  fi
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  pg_test_server_start || return 1
  trap pg_test_server_stop EXIT
else
  set -euo pipefail
  pg_test_server_start
  trap pg_test_server_stop EXIT
  echo "export POSSIM_TEST_POSTGRES='$POSSIM_TEST_POSTGRES'"
  echo "PostgreSQL in $PG_TEST_DIR; Ctrl-C stops it and removes the directory."
  sleeper=""
  trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' INT TERM
  while :; do
    sleep 3600 &
    sleeper=$!
    wait "$sleeper"
  done
fi
