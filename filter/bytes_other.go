//go:build !wasm

package filter

import "unsafe"

// is reports whether s equals t (see bytes.go).
func is(s, t string) bool { return s == t }

// isFold reports whether s equals lower, an ASCII lower-case string, in
// any letter case (see bytes.go). Browsers send lower case: the plain
// comparison usually settles it.
func isFold(s, lower string) bool { return s == lower || equalLower(s, lower) }

// sameAt reports whether the len(s) bytes at b are s's.
func sameAt(b *byte, s string) bool { return unsafe.String(b, len(s)) == s }
