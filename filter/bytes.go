package filter

// Byte-string comparisons on the engine's hot paths, in two versions (is
// and isFold): natively (bytes_other.go) they are == and a fold loop; in
// the module (GOARCH=wasm, bytes_wasm.go), is compares the lengths inline
// and the bytes in WebAssembly of its own (sameBytes, bytes_wasm.s), a
// word at a time in one Wasm call, because Go's Wasm
// code makes == on strings longer than 6 bytes two calls into the runtime
// (memequal, then memeqbody) and a byte loop of its own pays for a jump
// through its function's dispatch at every byte (an allowed origin's
// comparison was about 1,100 of wazero's instructions). Both versions give
// the same answers (TestByteComparisons). The hottest comparisons and the
// scan of Access-Control-Request-Headers go a word at a time in Go
// instead, on both targets (names.go), or in WebAssembly (listed_wasm.s).
