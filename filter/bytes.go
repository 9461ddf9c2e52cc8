package filter

// Byte-string comparisons on the engine's hot paths, in two versions: the
// module (GOARCH=wasm, bytes_wasm.go) compares in loops of its own code,
// because in Go's Wasm code == on strings longer than 6 bytes and
// strings.IndexByte call into the runtime, two Wasm calls each, which cost
// more there than the loop for the short names and origins CORS compares;
// native builds (bytes_other.go) keep == and strings.IndexByte, which are
// faster there. The helpers: is (==), indexByte (strings.IndexByte) and
// isFold (a header name against a lower-case one). Both versions give the
// same answers (TestByteLoops).

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

// indexByteLoop is strings.IndexByte in a loop.
func indexByteLoop(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
