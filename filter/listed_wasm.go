package filter

// skipListed is skipListedGo (listed.go, which says what it does) in
// WebAssembly (listed_wasm.s): a 4 KiB list of listed names is hundreds
// of elements, and Go's Wasm code pays for each element's loop through
// its function's dispatch and its stack frame (BENCHMARKS.md).
//
//go:noescape
func skipListed(line string, i int, names []foldName) (int, bool)
