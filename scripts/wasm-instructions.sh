#!/usr/bin/env bash
# Instructions per exchange: the plugin against its call-matched floor, and
# the module's share by Wasm function. Counted by callgrind rather than
# timed, so the figure holds on a noisy machine (time moves 10% from run to
# run here; these counts move by a few tenths of a percent): run it before
# and after a change to see what the change did.
#
#   scripts/wasm-instructions.sh 'allowed preflight' [EXCHANGES]
#
# Each module runs under callgrind for EXCHANGES warm exchanges (default
# 40000) after a first one (bench's TestPerfLoop, with wazero's compiler
# and perf map: the perfmap build tag), and callgrind dumps its counts
# when the exchanges start and when they end (--dump-before on bench's
# perfMark), so that the second dump holds the exchanges alone: the
# module's machine code, the host functions, wazero and the Go runtime
# under them, but not the compilation and start before them, whose count
# varies by thousands of instructions per exchange from run to run. Its
# count divided by EXCHANGES is the cost of an exchange. bench/wasmperf names the
# module's functions from the perf map. The counts are x86-64 instructions
# of wazero's machine code, not Wasm instructions. GOGC=off and
# GODEBUG=asyncpreemptoff=1 keep the collector and preemption signals out
# of the count (callgrind does not survive the latter). Needs valgrind
# (Debian: valgrind); skips, saying so, without it. Takes about a minute
# per scenario.
set -euo pipefail
scenario=${1:?usage: scripts/wasm-instructions.sh SCENARIO [EXCHANGES], e.g. 'allowed preflight'}
n=${2:-40000}
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	echo "wasm-instructions: valgrind is not installed (apt-get install valgrind): skipping" >&2
	exit 0
fi
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -tags perfmap -o "$work/bench.test" ./bench
go build -o "$work/wasmperf" ./bench/wasmperf

# The modules are built first, outside callgrind: a process under
# callgrind that starts go build dies of the child's signal.
for m in plugin callfloor; do
	(cd bench && "$work/bench.test" -test.run '^TestPerfLoop$' -perf.scenario "$scenario" -perf.module "$m" \
		-perf.n 0 -perf.dir "$work") >"$work/build.log" 2>&1 || {
		cat "$work/build.log" >&2
		exit 1
	}
done

# CACHESIM=1 adds callgrind's cache and branch simulation (slower: use
# fewer exchanges) and prints, per exchange, each module's misses of the
# first-level instruction cache (I1mr) and mispredicted conditional
# branches (Bcm): where the time above the instruction ratio goes
# (BENCHMARKS.md, the eighth round of issue 14).
sim=()
if [ -n "${CACHESIM:-}" ]; then
	sim=(--cache-sim=yes --branch-sim=yes)
fi

# count MODULE EXCHANGES: runs the loop under callgrind; leaves the
# exchanges' profile in $work/MODULE.out.2 and the process ID in
# $work/MODULE.pid.
count() {
	local out=$work/$1
	(cd bench && GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind "${sim[@]}" --smc-check=all-non-file \
		--dump-before='*bench.perfMark' \
		--callgrind-out-file="$out.out" "$work/bench.test" -test.run '^TestPerfLoop$' \
		-perf.scenario "$scenario" -perf.module "$1" -perf.n "$2" -perf.dir "$work") >"$out.log" 2>&1 || {
		cat "$out.log" >&2
		exit 1
	}
	grep -o '^==[0-9]*==' "$out.log" | head -1 | tr -d = >"$out.pid"
}
total() { event "$1" Ir; }
# event MODULE EVENT: the exchanges' count of one of callgrind's events.
event() { awk -v e="$2" '/^events:/ { for (i = 2; i <= NF; i++) if ($i == e) k = i } /^totals:/ { print $k }' "$work/$1.out.2"; }

# Two at a time: the machines have two CPUs.
count plugin "$n" & count callfloor "$n" & wait
rm -f "/tmp/perf-$(cat "$work/callfloor.pid").map"
perfmap=/tmp/perf-$(cat "$work/plugin.pid").map
plugin=$(($(total plugin) / n))
floor=$(($(total callfloor) / n))
echo "$scenario: instructions per exchange ($n exchanges, callgrind)"
echo "  plugin              $plugin"
echo "  call-matched floor  $floor"
awk -v p="$plugin" -v f="$floor" 'BEGIN { printf "  plugin / floor      %.2fx\n", p / f }'
if [ -n "${CACHESIM:-}" ]; then
	for e in I1mr Bcm; do
		echo "  $e per exchange: plugin $(($(event plugin "$e") / n)), call-matched floor $(($(event callfloor "$e") / n))"
	done
fi
callgrind_annotate --show=Ir --threshold=100 "$work/plugin.out.2" 2>/dev/null |
	"$work/wasmperf" -map "$perfmap" -exchanges "$n" -top 25
rm -f "$perfmap"
