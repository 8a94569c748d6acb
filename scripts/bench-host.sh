#!/usr/bin/env bash
# The host's figures of docs/BENCHMARKS.md, for one or more possim binaries,
# alternated run by run so that a busy machine weighs on each alike:
#
#   go build -o /tmp/new ./cmd/possim
#   git stash; go build -o /tmp/old ./cmd/possim; git stash pop
#   scripts/bench-host.sh /tmp/old /tmp/new            # 3 rounds, 10 s runs
#   ROUNDS=5 SECONDS_PER_RUN=20 scripts/bench-host.sh /tmp/new
#
# Each round and binary: a fresh `possim host --db` (synchronous FULL, the
# default) loaded by `possim load` at 32 connections, at 1 connection and
# at a fixed 2,000 sales/s over 32 connections, then `possim load --echo`
# at 32 and 1 connection (the ceiling: the same generator against a host
# that answers 00 without rules or ledger). Host CPU per sale is the
# host's utime+stime from /proc/PID/stat over the load run, divided by the
# approvals. The load average and /proc/pressure/cpu are printed before
# every round: a figure taken while other work held the cores is that
# work's, not the host's.
#
# Output: one line per run, then the medians per binary as a Markdown table.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 POSSIM_BINARY..." >&2; exit 2; }
rounds="${ROUNDS:-3}"
secs="${SECONDS_PER_RUN:-10}"
for b in "$@"; do
  [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "$0: needs python3 to read the load reports" >&2; exit 2; }
work="$(mktemp -d)"
trap 'pkill -TERM -P $$ 2>/dev/null || true; rm -rf "$work"' EXIT
results="$work/results.tsv"

# free_port prints a loopback TCP port nothing listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# host_run BIN KIND LOAD_ARGS...: one load run against a fresh host.
host_run() {
  local bin="$1" kind="$2"; shift 2
  local dir="$work/run" port hp t0 t1
  rm -rf "$dir"; mkdir -p "$dir"
  port="$(free_port)"
  "$bin" host --listen "127.0.0.1:$port" --db "$dir/h.db" >"$dir/host.log" 2>&1 &
  hp=$!
  for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
  done
  t0="$(awk '{print $14 + $15}' "/proc/$hp/stat")"
  "$bin" load --host "127.0.0.1:$port" --duration "${secs}s" --json "$@" >"$dir/load.json"
  t1="$(awk '{print $14 + $15}' "/proc/$hp/stat")"
  kill -TERM "$hp"; wait "$hp" || true
  python3 - "$dir/load.json" "$((t1 - t0))" "$(getconf CLK_TCK)" "$(basename "$bin")" "$kind" >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); ticks = int(sys.argv[2]); hz = int(sys.argv[3])
cpu = ticks / hz * 1e6 / max(r["approved"], 1)
print("\t".join([sys.argv[4], sys.argv[5], "%.0f" % r["approved_per_second"], str(r["latency_ms"]["p50"]),
                 str(r["latency_ms"]["p99"]), "%.1f" % cpu, str(r["errors"])]))
PY
  tail -1 "$results"
}

echo_run() {
  local bin="$1" kind="$2"; shift 2
  "$bin" load --echo --duration "${secs}s" --json "$@" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("\t".join([sys.argv[1], sys.argv[2], "%.0f" % r["approved_per_second"], str(r["latency_ms"]["p50"]),
                 str(r["latency_ms"]["p99"]), "", str(r["errors"])]))' "$(basename "$bin")" "$kind" >>"$results"
  tail -1 "$results"
}

printf 'binary\trun\tapproved/s\tp50 ms\tp99 ms\thost CPU µs/sale\terrors\n'
for round in $(seq "$rounds"); do
  for b in "$@"; do
    echo "# round $round, $b: load average $(cut -d' ' -f1-3 /proc/loadavg), cpu pressure $(head -1 /proc/pressure/cpu 2>/dev/null || echo n/a)"
    host_run "$b" "32 conns" --conns 32
    host_run "$b" "1 conn" --conns 1
    host_run "$b" "2,000/s" --conns 32 --rate 2000
    echo_run "$b" "echo 32" --conns 32
    echo_run "$b" "echo 1" --conns 1
  done
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
bins = list(dict.fromkeys(r[0] for r in rows))
def med(b, kind, col):
    v = [float(r[col]) for r in rows if r[0] == b and r[1] == kind and r[col] != ""]
    return statistics.median(v) if v else float("nan")
print()
print("| binary | 32 conns approved/s | p50 / p99 ms | host CPU/sale | 1 conn approved/s | p99 ms | host CPU/sale | 2,000/s p99 ms | echo 32 / 1 conn | ratio 32 / 1 |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for b in bins:
    a32, a1, e32, e1 = med(b, "32 conns", 2), med(b, "1 conn", 2), med(b, "echo 32", 2), med(b, "echo 1", 2)
    print(f"| {b} | {a32:,.0f} | {med(b, '32 conns', 3):.2f} / {med(b, '32 conns', 4):.2f} | {med(b, '32 conns', 5):.0f} µs "
          f"| {a1:,.0f} | {med(b, '1 conn', 4):.2f} | {med(b, '1 conn', 5):.0f} µs | {med(b, '2,000/s', 4):.2f} "
          f"| {e32:,.0f} / {e1:,.0f} | {a32 / e32:.2f} / {a1 / e1:.2f} |")
errors = sum(int(r[6]) for r in rows)
print(f"\nmedians of {len(rows) // (5 * len(bins))} runs each; errors in all runs: {errors}")
PY
