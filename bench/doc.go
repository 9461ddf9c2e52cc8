//go:build !wasip1

// Package bench holds the module benchmarks: the real plugin.wasm and a floor
// module (bench/floor: a module built the same way that only reads the
// origin header), both built once per test binary with the release command
// and run in wazero by the project's own host (package wasmhost), with real
// clocks and a shared compilation cache. The host reports info as its log
// level, Envoy's default: a denial asks for it and builds no debug line.
//
// BenchmarkModule/<scenario>/plugin, .../floor and .../callfloor run one
// full exchange per iteration (request headers, upstream response headers,
// end of stream) for the scenarios of the engine benchmarks
// (filter/bench_test.go), and report the host calls per request by phase.
// callfloor is the scenario's call-matched floor (callfloor_test.go): a
// module with no language runtime, assembled with wabin from a recording of
// the plugin's warm exchange (wasmhost's VM.SetTrace), that exports the
// plugin's callbacks and makes exactly its host calls with the same inputs;
// TestCallFloorsMakeThePluginsHostCalls holds it to that.
// TestWasmCallCounts counts the Wasm function calls of a warm exchange,
// with the top callees and a profile by category (profile_test.go), and
// BenchmarkCallbackTime splits an exchange's time by callback.
// BenchmarkModule/footprint/plugin reports the module's size, its
// compile-and-start time and its linear memory after start, after 1,000
// requests and after a long run. cmd/benchreport runs them, prints the
// tables and checks the budgets:
//
//	go run ./cmd/benchreport
//	go test -run '^$' -bench '^BenchmarkModule$' -benchmem ./bench
//
// go test ./bench (without -bench) checks that both modules load and that
// every scenario does what the benchmarks claim (TestModules), that the
// call-matched floors make the plugin's host calls, counts the Wasm calls,
// and checks that the Envoy configurations of scripts/envoy-bench.sh (bench/envoy) follow
// Envoy's v3 schema and differ only in their CORS handling
// (TestEnvoyConfigs). BENCHMARKS.md records a run.
package bench
