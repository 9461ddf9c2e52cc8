package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// moduleOutput is `go test -bench` output of two runs of the module
// benchmarks for two scenarios.
const moduleOutput = `
BenchmarkModule/allowed_preflight/plugin-8     1000  3000 ns/op  1 hostcalls-req/op  0 hostcalls-resp/op  5 hostcalls/op  0 wasi-calls/op
BenchmarkModule/allowed_preflight/floor-8      1000   700 ns/op
BenchmarkModule/allowed_preflight/callfloor-8  1000  1000 ns/op
BenchmarkModule/no_origin/plugin-8             1000  1000 ns/op  1 hostcalls-req/op  1 hostcalls-resp/op  2 hostcalls/op  0 wasi-calls/op
BenchmarkModule/no_origin/floor-8              1000   600 ns/op
BenchmarkModule/no_origin/callfloor-8          1000   700 ns/op
BenchmarkModule/allowed_preflight/plugin-8     1000  3200 ns/op  1 hostcalls-req/op  0 hostcalls-resp/op  5 hostcalls/op  0 wasi-calls/op
BenchmarkModule/allowed_preflight/floor-8      1000   700 ns/op
BenchmarkModule/allowed_preflight/callfloor-8  1000  1000 ns/op
BenchmarkModule/no_origin/plugin-8             1000  1000 ns/op  1 hostcalls-req/op  1 hostcalls-resp/op  2 hostcalls/op  0 wasi-calls/op
BenchmarkModule/no_origin/floor-8              1000   600 ns/op
BenchmarkModule/no_origin/callfloor-8          1000   700 ns/op
`

func TestCallMatchedBudgetsAreRatiosOfMedians(t *testing.T) {
	var out strings.Builder
	failures := report(&out, parse(strings.NewReader(moduleOutput)))
	// allowed preflight: 3100 / 1000 = 3.10x > 2.0x; no origin: 1000 / 700 = 1.43x <= 1.6x.
	if len(failures) != 1 || !strings.Contains(failures[0], "allowed preflight costs 3.10x its call-matched floor (3100 vs 1000 ns/op), want at most 2.0x: 1.10x over") {
		t.Errorf("failures %q, want the allowed preflight's ratio only", failures)
	}
	for _, want := range []string{"call-matched ns/op", "3.10x", "1.43x"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestABudgetedScenarioWithoutCallMatchedFloorFails(t *testing.T) {
	var b strings.Builder
	for _, line := range strings.Split(moduleOutput, "\n") {
		if !strings.Contains(line, "no_origin/callfloor") {
			b.WriteString(line + "\n")
		}
	}
	failures := report(io.Discard, parse(strings.NewReader(b.String())))
	if !slices.ContainsFunc(failures, func(f string) bool { return strings.Contains(f, "no origin: no call-matched floor measured") }) {
		t.Errorf("failures %q, want the missing call-matched floor of no origin", failures)
	}
}

func TestCallCountsAndProfileLinesAreRead(t *testing.T) {
	raw := "wasmcalls\tno origin\t61\truntime.gorecover=5,runtime.mapaccess2_fast32=5\n" +
		"wasmprofile\tno origin\tentry=11,context lookup=18\n" +
		"PASS\n"
	rows := parseCalls(strings.NewReader(raw))
	if len(rows) != 1 || rows[0].calls != "61" || len(rows[0].top) != 2 || !slices.Equal(rows[0].categories, []string{"entry=11", "context lookup=18"}) {
		t.Fatalf("rows %+v", rows)
	}
	var out strings.Builder
	reportCalls(&out, rows)
	if !strings.Contains(out.String(), "context lookup 18, entry 11") {
		t.Errorf("the profile is not listed most calls first:\n%s", out.String())
	}
}

func TestCallbackTimeTableListsEachCallback(t *testing.T) {
	raw := "BenchmarkCallbackTime/allowed_preflight/plugin-8  1000  7000 ns/op  360 context_create-guest-ns/op  4300 request_headers-guest-ns/op  260 memory_allocate-guest-ns/op  1090 host-ns/op\n"
	var out strings.Builder
	reportCallbackTime(&out, parse(strings.NewReader(raw)))
	for _, want := range []string{"allowed preflight", "4300", "260", "1090"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}
