package abi

// countPairs is countPairsGo (pairs.go, which says what it does) in
// WebAssembly: pickPairs' pass (pick_wasm.s) with a table of no names,
// which checks the layout and picks nothing. Go's Wasm code spends about
// 290 of wazero's instructions a pair on it, most in bounds checks and its
// stack frame.
func countPairs(buf []byte) int {
	n, _, _ := pickPairs(buf, &noNames, nil)
	return n
}

// noNames is the pick table of no names, with which pickPairs writes no
// span.
var noNames PickTable

// copyBytes is copyBytesGo (pairs.go) in WebAssembly (pairs_wasm.s).
//
//go:noescape
func copyBytes(dst, src *byte, n int)
