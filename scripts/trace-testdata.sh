#!/usr/bin/env bash
# Regenerates simulators/trace/testdata/session.*: a real session of
# `possim host` and `possim terminal` on loopback, captured by dumpcap
# (needs tshark/dumpcap and the right to capture on lo: root or the
# wireshark group). The session: sign-on, a sale approved, a decline, a
# void, a refund, a sale the host never answers (fault drop: the terminal
# times out and reverses it), and settlement.
#
#   scripts/trace-testdata.sh
#
# Writes session.pcapng (the capture), session-host.jsonl (the host's
# --trace) and session.hex (the capture's messages as a hex dump, made by
# tshark's ISO 8583 dissector, not by possim).
set -euo pipefail
cd "$(dirname "$0")/.."
out=simulators/trace/testdata
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/possim" ./cmd/possim
port=18583
cat >"$work/faults.yaml" <<'YAML'
faults:
  - name: decline 66.60
    match: {mti: "0200", amount: "66.60"}
    action: respond
    code: "51"
  - name: sale 77.70 never answered
    match: {mti: "0200", amount: "77.70"}
    action: drop
YAML
dumpcap -q -i lo -f "tcp port $port" -w "$work/session.pcapng" &
capture=$!
sleep 2
rm -f "$work/trace.jsonl"
"$work/possim" host --listen 127.0.0.1:$port --db "$work/host.db" --faults "$work/faults.yaml" --trace "$work/trace.jsonl" >"$work/host.log" 2>&1 &
host=$!
for _ in $(seq 50); do grep -q "listening" "$work/host.log" 2>/dev/null && break; sleep 0.1; done
term() { "$work/possim" terminal --host 127.0.0.1:$port --state "$work/terminal.json" --seed 7 --timeout 2s "$@" || true; }
term signon
term sale --amount 12.34 --card visa-credit --entry chip --pin 1234
term sale --amount 66.60 --card visa-credit --entry chip --pin 1234
stan() { python3 -c 'import json,sys; print(json.load(sys.stdin)["txn"]["stan"])'; }
term void --stan "$(term --json sale --amount 20.00 --card visa-credit --entry chip --pin 1234 | stan)"
term refund --stan "$(term --json sale --amount 30.00 --card visa-credit --entry chip --pin 1234 | stan)" --amount 5.00
term sale --amount 77.70 --card visa-credit --entry chip --pin 1234
term settle
sleep 1
kill -TERM $host; wait $host || true
sleep 1
kill -TERM $capture; wait $capture || true
cp "$work/session.pcapng" "$out/session.pcapng"
cp "$work/trace.jsonl" "$out/session-host.jsonl"
tshark -r "$out/session.pcapng" -d tcp.port==$port,iso8583 -o 'iso8583.len_endian:Big endian' \
  -Y iso8583 -T fields -E separator=' ' -e frame.time_epoch -e tcp.srcport -e tcp.payload |
  awk -v port=$port '{ dir = ($2 == port) ? "OUT" : "IN"; printf "%s %s %s\n", strftime("%Y-%m-%dT%H:%M:%S", int($1), 1) "Z", dir, $3 }' >"$out/session.hex"
echo "wrote $out/session.pcapng ($(stat -c %s "$out/session.pcapng") bytes), session-host.jsonl, session.hex"
