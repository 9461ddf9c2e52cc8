#!/usr/bin/env bash
# Where the module's time goes, by Wasm function: runs warm exchanges of one
# scenario of the module benchmarks (bench's TestPerfLoop) under perf, with
# wazero writing a perf map of the compiled module (the perfmap build tag),
# and sums the samples by function (bench/wasmperf).
#
#   scripts/wasm-profile.sh 'allowed preflight' [seconds]
#
# Needs perf (Debian: linux-perf) and a kernel that lets it sample
# (kernel.perf_event_paranoid <= 2); skips, saying so, without them.
set -euo pipefail
scenario=${1:?usage: scripts/wasm-profile.sh SCENARIO [SECONDS], e.g. 'allowed preflight'}
seconds=${2:-10}
if ! command -v perf >/dev/null; then
	echo "wasm-profile: perf is not installed (apt-get install linux-perf): skipping" >&2
	exit 0
fi
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -tags perfmap -o "$work/bench.test" ./bench
# perf map files are named after the process; the test runs from bench/.
(cd bench && perf record -q -F 5000 -o "$work/perf.data" "$work/bench.test" \
	-test.run '^TestPerfLoop$' -perf.scenario "$scenario" -perf.time "${seconds}s") >"$work/out" 2>"$work/err" || {
	cat "$work/out" "$work/err" >&2
	exit 1
}
read -r exchanges elapsed < <(awk -F'\t' '$1 == "perfloop" {print $2, $3}' "$work/out")
echo "$scenario: $exchanges exchanges in ${elapsed}s (the process, compilation included)"
perf report -i "$work/perf.data" --no-children --sort symbol -g none 2>/dev/null |
	go run ./bench/wasmperf -exchanges "$exchanges" -seconds "$elapsed"
