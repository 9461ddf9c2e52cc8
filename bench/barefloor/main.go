// Command barefloor is the benchmarks' bare Go floor for a request without
// Origin: the least a Go module can do to make the plugin's host calls of
// that exchange. Its four stream callbacks are go:wasmexport functions with
// nothing in them but, on the request headers, one read of origin and, on
// the response headers, one vary line added, through go:wasmimport calls:
// no ABI layer, no panic recovery, no stream contexts, no CORS decision.
// BenchmarkModule/no_origin/barefloor measures it beside the plugin and
// the call-matched floor (a module with no language runtime making the
// same calls), which shows what Go's runtime and code generation cost by
// themselves (BENCHMARKS.md, issue 14). It is built as plugin.wasm is:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath -o barefloor.wasm ./bench/barefloor
//
// It answers every request the same way and must not serve traffic.
package main

// main is not run in a c-shared (reactor) module. The callbacks are in
// bare.go, built for wasip1 only (go:wasmimport functions have no body
// natively).
func main() {}
