package abi

// pickPairs is pickPairsGo (pick.go, which says what it does) in
// WebAssembly (pick_wasm.s): one pass that checks the map's layout, as
// countPairs does, and compares each line's name a word at a time with
// those of its length that the table holds, where Go's Wasm code pays for
// a call and a stack frame per line.
//
//go:noescape
func pickPairs(buf []byte, t *PickTable, spans *[MaxPicked]uint64) (n int, present uint64, repeated bool)
