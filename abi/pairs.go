package abi

import (
	"errors"
	"slices"
	"unsafe"
)

// ErrMalformedPairs reports a serialized header map that does not follow the
// ABI's layout (see ParsePairs).
var ErrMalformedPairs = errors.New("abi: malformed header map")

// ParsePairs decodes a header map serialized as the ABI does it: the number of
// pairs (u32 little endian), then the length of each key and value (u32 LE
// pairs), then each key and each value followed by a NUL byte. It appends the
// pairs to dst. An empty buf is an empty map.
//
// The strings alias buf (no copy): buf must not be modified afterwards. The
// garbage collector keeps buf alive as long as one of the strings is.
//
// Input that does not match the layout exactly (truncated, counts or lengths
// past the end, a missing NUL, trailing bytes) returns dst unchanged and
// ErrMalformedPairs.
func ParsePairs(dst [][2]string, buf []byte) ([][2]string, error) {
	n := countPairs(buf)
	if n < 0 {
		return dst, ErrMalformedPairs
	}
	return newPairs(buf, n).Append(growPairs(dst, n)), nil
}

// AppendPairs serializes pairs as ParsePairs reads them and appends the result to dst.
func AppendPairs(dst []byte, pairs [][2]string) []byte {
	dst = appendLE32(dst, uint32(len(pairs)))
	for _, kv := range pairs {
		dst = appendLE32(dst, uint32(len(kv[0])))
		dst = appendLE32(dst, uint32(len(kv[1])))
	}
	for _, kv := range pairs {
		dst = append(dst, kv[0]...)
		dst = append(dst, 0)
		dst = append(dst, kv[1]...)
		dst = append(dst, 0)
	}
	return dst
}

// AppendPath serializes a property path (e.g. "xds", "route_name") as the ABI
// expects it, the segments separated by NUL bytes, and appends it to dst.
func AppendPath(dst []byte, path []string) []byte {
	for i, seg := range path {
		if i > 0 {
			dst = append(dst, 0)
		}
		dst = append(dst, seg...)
	}
	return dst
}

// growPairs makes room for n more pairs in dst.
func growPairs(dst [][2]string, n int) [][2]string {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	grown := make([][2]string, len(dst), len(dst)+n)
	copy(grown, dst)
	return grown
}

// bytesString returns a string that shares b's memory.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// le32 and appendLE32 read and write the ABI's little-endian u32s; they stand
// in for encoding/binary, which would pull reflect into the module.
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// le64 reads eight bytes as a little-endian u64 (a key's and a value's
// sizes: the key's in the low half) in one load, as countPairs' assembly
// does. Wasm is little endian, as are the platforms the native tests run
// on.
func le64(b []byte) uint64 {
	_ = b[7]
	return *(*uint64)(unsafe.Pointer(unsafe.SliceData(b)))
}

func appendLE32(dst []byte, v uint32) []byte {
	return append(dst, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

// HeaderTemplate is a header map serialized once, as AppendPairs does it,
// with the value of its first header left open: Fill fills it in. The
// open header goes last in the serialized map, so that filling it is one
// copy of the value after bytes serialized once, into the template's own
// buffer: a local reply whose headers differ per request only in that
// value (a preflight's access-control-allow-origin, which echoes the
// origin) costs one short copy, not a copy of every header.
type HeaderTemplate struct {
	buf   []byte // the map up to the open value, then room for it
	fixed int    // the length of what Fill keeps: up to the open value
	size  int    // where the open value's size lies
}

// NewHeaderTemplate serializes headers, which must not be empty, with the
// first header's value open, and that header last.
func NewHeaderTemplate(headers [][2]string) HeaderTemplate {
	last := [2]string{headers[0][0], ""}
	b := AppendPairs(nil, append(slices.Clone(headers[1:]), last))
	fixed := len(b) - 1 // without the NUL after the empty value
	return HeaderTemplate{buf: slices.Grow(b[:fixed], 256), fixed: fixed, size: 4 + 8*len(headers) - 4}
}

// Fill returns the serialized map with value as the open value. The
// result is the template's buffer: it is valid until the next Fill.
func (t *HeaderTemplate) Fill(value string) []byte {
	n := t.fixed + len(value) + 1
	if cap(t.buf) < n {
		t.buf = slices.Grow(t.buf[:t.fixed], len(value)+1)
	}
	b := t.buf[:n]
	if len(value) > 0 {
		copyBytes(&b[t.fixed], unsafe.StringData(value), len(value))
	}
	b[n-1] = 0
	// The size, little endian as Wasm and the native tests' platforms are:
	// one store.
	*(*uint32)(unsafe.Pointer(&b[t.size])) = uint32(len(value))
	return b
}

// copyBytesGo is copyBytes in Go: what the native build runs, and what
// the Wasm build's assembly (pairs_wasm.s) is tested against. It copies n
// bytes from src to dst, which do not overlap. Go's copy costs the module a call into the runtime and
// through it into wazero's memmove, about 370 of wazero's instructions for
// an origin; the assembly, about 60.
func copyBytesGo(dst, src *byte, n int) {
	copy(unsafe.Slice(dst, n), unsafe.Slice(src, n))
}

// Pairs reads a serialized header map (see ParsePairs) pair by pair,
// without making a slice of them. ReadHeaders checks the whole layout
// first (countPairs), so that Next, which inlines, only adds sizes: no
// bounds check, no slicing (each costs Go's Wasm code a handful of
// instructions).
type Pairs struct {
	buf  unsafe.Pointer // the map; nil when it has no pairs
	end  int            // its length
	i, n int            // the next pair, and how many there are
	off  int            // the next pair's key, from buf
}

// newPairs returns a reader of buf's n pairs; buf must follow the layout
// (countPairs(buf) is n).
func newPairs(buf []byte, n int) Pairs {
	return Pairs{buf: unsafe.Pointer(unsafe.SliceData(buf)), end: len(buf), n: n, off: 4 + 8*n}
}

// set makes ps newPairs(buf, n) in place.
func (ps *Pairs) set(buf []byte, n int) {
	ps.buf, ps.end, ps.i, ps.n, ps.off = unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 0, n, 4+8*n
}

// Next returns the next pair; ok is false after the last. The key and the
// value each end before a NUL of the map, so the pointers made here stay
// inside it.
func (ps *Pairs) Next() (key, value string, ok bool) {
	if ps.i == ps.n {
		return "", "", false
	}
	kv := *(*uint64)(unsafe.Add(ps.buf, 4+8*ps.i))
	k, v := int(kv&0xFFFFFFFF), int(kv>>32)
	p := unsafe.Add(ps.buf, ps.off)
	ps.i, ps.off = ps.i+1, ps.off+k+v+2
	return unsafe.String((*byte)(p), k), unsafe.String((*byte)(unsafe.Add(p, k+1)), v), true
}

// Append appends the pairs not yet read to dst, without reading them:
// ps is a copy. A reader copied before a scan reads the whole map again.
func (ps Pairs) Append(dst [][2]string) [][2]string {
	for k, v, ok := ps.Next(); ok; k, v, ok = ps.Next() {
		dst = append(dst, [2]string{k, v})
	}
	return dst
}

// countPairsGo is countPairs in Go: what the native build runs, and what
// the Wasm build's assembly (pairs_wasm.s) is tested against. It returns
// the number of pairs of buf when buf follows the layout ParsePairs reads
// (the count, the sizes, and each key and value followed by a NUL, up to
// the end), 0 for an empty buf, and -1 when it does not.
func countPairsGo(buf []byte) int {
	if len(buf) == 0 {
		return 0
	}
	if len(buf) < 4 {
		return -1
	}
	n := uint64(le32(buf))
	if n*8 > uint64(len(buf)-4) {
		return -1
	}
	sizes := buf[4 : 4+n*8]
	data := buf[4+n*8:]
	p := uint64(0)
	for i := uint64(0); i < n; i++ {
		kv := le64(sizes[8*i:])
		k, v := kv&0xFFFFFFFF, kv>>32
		if k+v+2 > uint64(len(data))-p || data[p+k] != 0 || data[p+k+1+v] != 0 {
			return -1
		}
		p += k + v + 2
	}
	if p != uint64(len(data)) {
		return -1
	}
	return int(n)
}

// readPre is ReadHeaders of the response headers the layer read for
// StreamAddsToResponse, once.
func readPre(c *streamContext) (Pairs, error) {
	afterHostReply() // the layer's read may have needed Go's allocator
	b, err := claim(c.preData, c.preSize)
	c.preSize = 0
	if err != nil {
		return Pairs{}, err
	}
	return pairsOf(b)
}

// pairsOf returns a reader of the map b, once its layout is checked.
func pairsOf(b []byte) (Pairs, error) {
	n := countPairs(b)
	if n < 0 {
		return Pairs{}, ErrMalformedPairs
	}
	return newPairs(b, n), nil
}

// ReadHeaders returns a reader of the map's header lines, in order; the
// strings are views of memory the host wrote.
func ReadHeaders(mapType MapType) (Pairs, error) {
	if c := cb.stream; c != nil && c.preSize != 0 && mapType == MapResponseHeaders {
		return readPre(c)
	}
	st, data, size := callGetHeaderMapPairs(uint32(mapType))
	afterHostReply()
	if st != statusOK {
		return Pairs{}, failure(st)
	}
	b, err := claim(data, size)
	if err != nil {
		return Pairs{}, err
	}
	return pairsOf(b)
}
