//go:build !wasm

package filter

// hostLength is hostLengthGo (origin.go), which says what it does.
func hostLength(s string) int { return hostLengthGo(s) }
