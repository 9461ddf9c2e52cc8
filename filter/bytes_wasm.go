//go:build wasm

package filter

// is reports whether s equals t (see bytes.go), in WebAssembly
// (bytes_wasm.s): eight bytes at a time, in one Wasm call.
//
//go:noescape
func is(s, t string) bool

// isFold reports whether s equals lower, an ASCII lower-case string, in
// any letter case (see bytes.go).
func isFold(s, lower string) bool { return equalLower(s, lower) }
