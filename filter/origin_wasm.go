package filter

// hostLength is hostLengthGo (origin.go, which says what it does) in
// WebAssembly (origin_wasm.s): one pass over the host, where Go's Wasm
// code made two (IndexByte, validHost), the second paying for a jump
// through its function's dispatch at every byte.
//
//go:noescape
func hostLength(s string) int
