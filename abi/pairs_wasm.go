package abi

// countPairs is countPairsGo (pairs.go, which says what it does) in
// WebAssembly (pairs_wasm.s): Go's Wasm code spends about 290 of wazero's
// instructions a pair on it, most in bounds checks and its stack frame.
//
//go:noescape
func countPairs(buf []byte) int

// copyBytes is copyBytesGo (pairs.go) in WebAssembly (pairs_wasm.s).
//
//go:noescape
func copyBytes(dst, src *byte, n int)
