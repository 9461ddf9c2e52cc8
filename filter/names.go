package filter

import "unsafe"

// Header names the engine looks for among request header lines, prepared
// so that a line's name of the same length is compared with a few word
// loads and no call. In Go's Wasm code, == on strings longer than a few
// bytes calls into the runtime (two Wasm calls), and a byte loop pays for a
// jump back through its function's dispatch at every byte: comparing the
// six names of a preflight took 310-380 ns with byte loops in wazero,
// 160 ns with ==, and about 150 ns a word at a time (BENCHMARKS.md).
// Natively it is as fast as ==. Both types' is methods inline.

// longName is a name of 8 to 32 bytes, held as four overlapping
// little-endian words at offsets 0, 8, 16 and len-8 (each at most len-8).
type longName struct {
	n     int
	off   [4]int
	words [4]uint64
}

// newLongName prepares name, which must be 8 to 32 bytes long.
func newLongName(name string) longName {
	n := len(name)
	if n < 8 || n > 32 {
		panic("filter: newLongName(" + name + "): not 8 to 32 bytes")
	}
	h := longName{n: n, off: [4]int{0, min(8, n-8), min(16, n-8), n - 8}}
	for i, off := range h.off {
		h.words[i] = load64(name, off)
	}
	return h
}

// is reports whether s is the name.
func (h *longName) is(s string) bool {
	return len(s) == h.n && load64(s, 0) == h.words[0] && load64(s, h.off[1]) == h.words[1] &&
		load64(s, h.off[2]) == h.words[2] && load64(s, h.off[3]) == h.words[3]
}

// shortName is a name of 4 to 8 bytes, held as two overlapping
// little-endian four-byte words at offsets 0 and len-4.
type shortName struct {
	n     int
	words [2]uint32
}

// newShortName prepares name, which must be 4 to 8 bytes long.
func newShortName(name string) shortName {
	n := len(name)
	if n < 4 || n > 8 {
		panic("filter: newShortName(" + name + "): not 4 to 8 bytes")
	}
	return shortName{n: n, words: [2]uint32{load32(name, 0), load32(name, n-4)}}
}

// is reports whether s is the name.
func (h *shortName) is(s string) bool {
	return len(s) == h.n && load32(s, 0) == h.words[0] && load32(s, h.n-4) == h.words[1]
}

// load64 and load32 read eight and four bytes of s at i, little endian (as
// Wasm and the platforms this runs natively on); i+8 (i+4) must be at most
// len(s).
func load64(s string, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}

func load32(s string, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}
