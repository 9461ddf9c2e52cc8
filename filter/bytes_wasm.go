//go:build wasm

package filter

import "unsafe"

// is reports whether s equals t (see bytes.go): the lengths compared
// inline, so that strings of different lengths cost no call, the bytes in
// WebAssembly (bytes_wasm.s), eight at a time, in one Wasm call.
func is(s, t string) bool {
	return len(s) == len(t) && sameBytes(unsafe.StringData(s), unsafe.StringData(t), len(s))
}

// sameBytes reports whether the n bytes at s and t are the same.
//
//go:noescape
func sameBytes(s, t *byte, n int) bool

// isFold reports whether s equals lower, an ASCII lower-case string, in
// any letter case (see bytes.go).
func isFold(s, lower string) bool { return equalLower(s, lower) }

// sameAt reports whether the len(s) bytes at b are s's.
func sameAt(b *byte, s string) bool { return sameBytes(b, unsafe.StringData(s), len(s)) }
