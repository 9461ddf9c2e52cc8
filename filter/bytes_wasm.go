//go:build wasm

package filter

// is reports whether s equals t (see bytes.go).
func is(s, t string) bool { return equalLoop(s, t) }

// isFold reports whether s equals lower, an ASCII lower-case string, in
// any letter case (see bytes.go).
func isFold(s, lower string) bool { return equalLower(s, lower) }
