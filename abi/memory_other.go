//go:build !wasm

package abi

// refreshMemorySize is memory_wasm.go's, which natively has nothing to do.
func refreshMemorySize() {}
