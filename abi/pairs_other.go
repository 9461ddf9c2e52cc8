//go:build !wasm

package abi

// countPairs is countPairsGo (pairs.go), which says what it does.
func countPairs(buf []byte) int { return countPairsGo(buf) }

// copyBytes is copyBytesGo (pairs.go).
func copyBytes(dst, src *byte, n int) { copyBytesGo(dst, src, n) }
