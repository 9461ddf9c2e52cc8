//go:build !wasm

package abi

// pickPairs is pickPairsGo (pick.go).
func pickPairs(buf []byte, t *PickTable, spans *[MaxPicked]uint64) (n int, present uint64, repeated bool) {
	return pickPairsGo(buf, t, spans)
}
