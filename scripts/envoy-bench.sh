#!/usr/bin/env bash
# Compares three Envoy configurations under load from wrk on loopback:
#   none    no CORS handling (the baseline)
#   native  Envoy's own CORS filter (envoy.filters.http.cors) with the policy
#           of the module benchmarks
#   plugin  this project's plugin.wasm with the same policy
# for three requests: GET without Origin, GET with an allowed Origin, and an
# allowed preflight. It prints requests per second and p50/p99 latency per
# configuration and request.
#
# The configurations are bench/envoy/{none,native,plugin}.yaml (front listener
# 127.0.0.1:10100, upstream listener 127.0.0.1:10101 in the same Envoy with a
# direct response, admin 127.0.0.1:10102); bench/envoy_test.go checks them
# against Envoy's v3 schema. plugin.wasm is built by the release command into
# a temporary directory, from which Envoy runs.
#
# Bounded: 3 configurations x 3 requests = 9 measured wrk runs of DURATION
# each, after a 2 s warm-up per configuration; each wrk run is killed after
# DURATION + 30 s, and each Envoy start is given 30 s.
#
# Needs envoy (1.39 or newer: see README) and wrk (Debian: apt-get install wrk)
# on PATH, and curl; without them it says what is missing and exits 0.
#
# Settings (environment): DURATION (default 10s), CONNECTIONS (16),
# THREADS (2), ENVOY_CONCURRENCY (Envoy worker threads, 1: one Wasm VM),
# ENVOY (the envoy binary, default envoy).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
root=$(pwd)

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
ENVOY_CONCURRENCY=${ENVOY_CONCURRENCY:-1}
ENVOY=${ENVOY:-envoy}

missing=()
command -v "$ENVOY" >/dev/null 2>&1 || missing+=("$ENVOY (Envoy 1.39 or newer)")
command -v wrk >/dev/null 2>&1 || missing+=("wrk (Debian: apt-get install wrk)")
command -v curl >/dev/null 2>&1 || missing+=("curl")
if ((${#missing[@]} > 0)); then
	printf -v list '%s, ' "${missing[@]}"
	echo "envoy-bench: skipped: not on PATH: ${list%, }"
	exit 0
fi

case "$DURATION" in
*s) seconds=${DURATION%s} ;;
*m) seconds=$((${DURATION%m} * 60)) ;;
*) seconds=$DURATION ;;
esac
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1 || seconds > 300)); then
	echo "envoy-bench: DURATION must be 1s to 5m, got $DURATION" >&2
	exit 2
fi
timeout_s=$((seconds + 30))

FRONT=http://127.0.0.1:10100
ADMIN=http://127.0.0.1:10102
ORIGIN=https://app.example.com

work=$(mktemp -d)
envoy_pid=
cleanup() {
	if [[ -n "$envoy_pid" ]] && kill -0 "$envoy_pid" 2>/dev/null; then
		kill "$envoy_pid" 2>/dev/null || true
		wait "$envoy_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

for port in 10100 10101 10102; do
	if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
		echo "envoy-bench: port $port is in use; stop what listens there first" >&2
		exit 1
	fi
done

echo "envoy-bench: $("$ENVOY" --version 2>/dev/null | tr -s ' ' | head -n1)"
echo "envoy-bench: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, Envoy --concurrency $ENVOY_CONCURRENCY, $(nproc) CPUs"

GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath -o "$work/plugin.wasm" .
go run ./cmd/postlink "$work/plugin.wasm"
cat >"$work/preflight.lua" <<'EOF'
wrk.method = "OPTIONS"
EOF

start_envoy() { # config
	(cd "$work" && exec "$ENVOY" -c "$root/bench/envoy/$1.yaml" --concurrency "$ENVOY_CONCURRENCY" \
		--base-id $((20000 + RANDOM % 10000)) -l warn --log-path "$work/$1.log") &
	envoy_pid=$!
	for _ in $(seq 300); do
		if curl -fs -o /dev/null --max-time 1 "$ADMIN/ready"; then
			return 0
		fi
		if ! kill -0 "$envoy_pid" 2>/dev/null; then
			echo "envoy-bench: Envoy exited with configuration $1:" >&2
			tail -n 30 "$work/$1.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "envoy-bench: Envoy not ready after 30 s with configuration $1" >&2
	tail -n 30 "$work/$1.log" >&2
	exit 1
}

stop_envoy() {
	kill "$envoy_pid" 2>/dev/null || true
	wait "$envoy_pid" 2>/dev/null || true
	envoy_pid=
}

# check config: the configuration does what it claims, before it is measured.
check() {
	local acao want
	acao=$(curl -s -o /dev/null -D - -X OPTIONS "$FRONT/things" -H "origin: $ORIGIN" \
		-H "access-control-request-method: PUT" -H "access-control-request-headers: content-type" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "access-control-allow-origin" {print $2}')
	case "$1" in
	none) want= ;;
	*) want=$ORIGIN ;;
	esac
	if [[ "$acao" != "$want" ]]; then
		echo "envoy-bench: configuration $1: preflight answered with access-control-allow-origin '$acao', want '$want'" >&2
		tail -n 30 "$work/$1.log" >&2
		exit 1
	fi
}

# load name args...: one wrk run; prints "rps p50 p99".
load() {
	local out
	out=$(timeout "$timeout_s" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$FRONT/things")
	awk '
		/^Requests\/sec:/ {rps = $2}
		/^ +50%/ {p50 = $2}
		/^ +99%/ {p99 = $2}
		/Non-2xx or 3xx responses/ {bad = $NF}
		END {printf "%s %s %s %s\n", rps, p50, p99, (bad == "" ? 0 : bad)}
	' <<<"$out"
}

results=()
for config in none native plugin; do
	start_envoy "$config"
	check "$config"
	timeout "$timeout_s" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$FRONT/things" >/dev/null
	for request in "no origin" "allowed actual" "allowed preflight"; do
		case "$request" in
		"no origin") args=() ;;
		"allowed actual") args=(-H "origin: $ORIGIN") ;;
		"allowed preflight") args=(-s "$work/preflight.lua" -H "origin: $ORIGIN"
			-H "access-control-request-method: PUT" -H "access-control-request-headers: content-type,authorization") ;;
		esac
		line=$(load "${args[@]}")
		read -r rps p50 p99 bad <<<"$line"
		results+=("$config|$request|$rps|$p50|$p99|$bad")
		echo "envoy-bench: $config, $request: $rps req/s, p50 $p50, p99 $p99" >&2
	done
	stop_envoy
done

echo
printf '%-8s %-18s %12s %10s %10s %8s\n' config request "req/s" p50 p99 "non-2xx"
for r in "${results[@]}"; do
	IFS='|' read -r config request rps p50 p99 bad <<<"$r"
	printf '%-8s %-18s %12s %10s %10s %8s\n' "$config" "$request" "$rps" "$p50" "$p99" "$bad"
done
echo
echo "Compare rows of one run: the machine's load moves absolute numbers between runs."
