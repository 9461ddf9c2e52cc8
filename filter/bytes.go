package filter

// Byte-string comparisons on the engine's hot paths, in two versions (is
// and isFold): the module (GOARCH=wasm, bytes_wasm.go) compares short
// strings in loops of its own code, because in Go's Wasm code == on
// strings longer than 6 bytes calls into the runtime (memequal, then
// memeqbody: two Wasm calls), and these comparisons are of header names
// and short tokens, where the loop costs the same time and fewer calls
// (bench's Wasm call budgets); native builds (bytes_other.go) keep ==,
// which is faster there. Both versions give the same answers
// (TestByteLoops). The hottest comparisons and the scan of
// Access-Control-Request-Headers go a word at a time instead, on both
// targets (names.go: request header names, a policy's header names,
// indexComma).

// equalLoop reports whether s equals t, comparing byte by byte.
func equalLoop(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}
