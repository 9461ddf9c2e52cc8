package filter

import (
	"math/bits"
	"unsafe"
)

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

// foldName is a lower-case name a policy lists (allowHeaders), prepared so
// that a requested header name of 8 to 16 bytes, in any letter case, is
// compared with two word loads, inline: the byte loop of equalLower costs
// about 4 ns a byte in the module, and a 4 KiB Access-Control-Request-Headers
// list compares hundreds of names. The two words overlap (offsets 0 and
// len-8); letters has 0x20 in the bytes where the name has a letter, so
// that or-ing it into a requested name's word lowers exactly its letters
// there and leaves any other byte to compare as it is. Names of other
// lengths have n = 0 and are compared with equalLower.
type foldName struct {
	n              int
	words, letters [2]uint64
}

// newFoldName prepares lower, an ASCII lower-case name.
func newFoldName(lower string) foldName {
	n := len(lower)
	if n < 8 || n > 16 {
		return foldName{}
	}
	f := foldName{n: n}
	for i, off := range [2]int{0, n - 8} {
		f.words[i] = load64(lower, off)
		for b := range 8 {
			if c := lower[off+b]; 'a' <= c && c <= 'z' {
				f.letters[i] |= 0x20 << (8 * b)
			}
		}
	}
	return f
}

// is reports whether s is the name in any letter case; f.n must not be 0.
func (f *foldName) is(s string) bool {
	return len(s) == f.n && load64(s, 0)|f.letters[0] == f.words[0] && load64(s, f.n-8)|f.letters[1] == f.words[1]
}

// indexComma returns the index of the first comma in s, or -1: eight bytes
// at a time, inline, where strings.IndexByte is two Wasm calls into the
// runtime per list element (a third of the 4 KiB list's time in the
// module). For each word, x has a zero byte where s has a comma, which
// zeroBytes finds.
func indexComma(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if t := zeroBytes(load64(s, i) ^ ','*ones); t != 0 {
			return i + bits.TrailingZeros64(t)/8
		}
	}
	for ; i < len(s); i++ {
		if s[i] == ',' {
			return i
		}
	}
	return -1
}

// ones and highs are words of bytes 0x01 and 0x80, for tests on eight
// bytes at a time.
const ones, highs = 0x0101010101010101, 0x8080808080808080

// zeroBytes returns x with the top bit set in its zero bytes, at least in
// its first (lowest) one, and nothing else set: the classic test
// (x - 0x01...) &^ x & 0x80..., exact for the lowest zero byte (the borrow
// only moves up from a zero byte) and for whether there is one, which is
// what TrailingZeros64 and a test against 0 read of it.
func zeroBytes(x uint64) uint64 { return (x - ones) &^ x & highs }

// load64 and load32 read eight and four bytes of s at i, little endian (as
// Wasm and the platforms this runs natively on); i+8 (i+4) must be at most
// len(s).
func load64(s string, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}

func load32(s string, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}
