package abi

// refreshMemorySize runs memory.grow with 0 pages (memory_wasm.s): a
// request for no more memory that tells a WebAssembly engine to read the
// memory's size again. See afterHostReply.
func refreshMemorySize()
