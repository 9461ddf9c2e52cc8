package filter

import "unsafe"

// Byte-string comparisons on the engine's hot paths, in two versions (is
// and isFold). Native builds (bytes_other.go) use ==, which is fastest
// there. The module (GOARCH=wasm, bytes_wasm.go) compares in its own code:
// in Go's Wasm code, == on strings longer than 6 bytes calls into the
// runtime (memequal, then memeqbody: two Wasm calls each time), and a loop
// byte by byte pays Go's Wasm dispatch for every byte (BENCHMARKS.md), so
// is compares eight bytes at a time in a function small enough to inline
// (equalWords: in wazero, Request.AddHeaders of the benchmarks' preflight
// took 440 ns instead of 625 ns with a byte loop). Both versions give the
// same answers (TestByteLoops). Scans of long values (strings.IndexByte
// over Access-Control-Request-Headers) stay in the runtime's assembly.

// equalWords reports whether s equals t, comparing eight bytes at a time
// (unaligned loads, which Wasm and the hosts the tests run on allow), then
// the last few bytes one by one.
func equalWords(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if *(*uint64)(unsafe.Pointer(unsafe.StringData(s[i:]))) != *(*uint64)(unsafe.Pointer(unsafe.StringData(t[i:]))) {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}
