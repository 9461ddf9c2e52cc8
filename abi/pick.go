package abi

import (
	"errors"
	"strconv"
	"unsafe"
)

// MaxPicked is the most names a PickTable holds.
const MaxPicked = 16

// maxPickedName bounds the length of a picked name (PickTable.byLen).
const maxPickedName = 64

// A PickTable names the header lines ReadPicked picks out of a map: a
// reader that wants a few names among many lines (a CORS engine, the
// origin and the access-control-request-* lines among a browser's dozen)
// finds them in one pass of WebAssembly (pick_wasm.s), without a Go call
// or a string comparison per line. Names are compared byte for byte, as
// the host writes them (Envoy's are lower case). Build it once
// (NewPickTable) and use it for every request.
type PickTable struct {
	// byLen holds, for each name length, 1 + the index of the first name
	// that long (0: none); next, 1 + the index of the next name as long.
	byLen [maxPickedName]uint8
	next  [MaxPicked]uint8
	// names are the names' addresses (their bytes stay where they are:
	// Go's collector does not move memory, and the table keeps them
	// alive through keep).
	names [MaxPicked]uint64
	// head and tail are each name's first and last words, which the
	// assembly compares with a line's without loading the name: 8 bytes
	// (4 for a name of 4 to 7 bytes), little-endian; 0 for a shorter name.
	head, tail [MaxPicked]uint64
	keep       [MaxPicked]string
}

// NewPickTable prepares names for ReadPicked: the line of names[i] is
// picked into index i. An empty name picks nothing (a slot the reader
// does not want this time). It fails on more than MaxPicked names, on a
// name of maxPickedName bytes or more, and on a name listed twice. (Not
// fmt, which would bring the os package and its WASI imports into the
// module.)
func NewPickTable(names []string) (*PickTable, error) {
	if len(names) > MaxPicked {
		return nil, errors.New("abi: " + strconv.Itoa(len(names)) + " names to pick, at most " + strconv.Itoa(MaxPicked))
	}
	t := &PickTable{}
	for i := len(names) - 1; i >= 0; i-- { // so that each chain runs in index order
		name := names[i]
		if name == "" {
			continue
		}
		if len(name) >= maxPickedName {
			return nil, errors.New("abi: name to pick " + strconv.Quote(name) + " is " + strconv.Itoa(len(name)) + " bytes long, under " + strconv.Itoa(maxPickedName) + " only")
		}
		for j := range i {
			if names[j] == name {
				return nil, errors.New("abi: name to pick " + strconv.Quote(name) + " listed twice")
			}
		}
		t.keep[i] = name
		t.names[i] = uint64(uintptr(unsafe.Pointer(unsafe.StringData(name))))
		t.head[i], t.tail[i] = ends(name)
		t.next[i] = t.byLen[len(name)]
		t.byLen[len(name)] = uint8(i + 1)
	}
	return t, nil
}

// ends returns the first and last words of name for PickTable.head and
// tail (le64 and le32, as countPairs reads sizes).
func ends(name string) (head, tail uint64) {
	n := len(name)
	switch {
	case n >= 8:
		return le64([]byte(name[:8])), le64([]byte(name[n-8:]))
	case n >= 4:
		return uint64(le32([]byte(name[:4]))), uint64(le32([]byte(name[n-4:])))
	}
	return 0, 0
}

// Picked is what ReadPicked found in a header map: which names of its
// table have a line (Present, bit i for the i-th name) and whether one has
// several (Repeated). For each name with a line, Spans[i] says where the
// first one's value lies: its offset from the start of the map
// (Pairs.Map) in the high 32 bits, its length in the low ones; the spans
// of the other names are left as they were. Pairs reads every line, for a
// reader that wants them all when a name has several.
type Picked struct {
	Spans    [MaxPicked]uint64
	Present  uint16
	Repeated bool
	Pairs    Pairs
}

// ReadPicked is ReadHeaders, picking the lines of t's names into p in the
// same pass as the check of the map's layout. p is written whole, in
// place: a reader that keeps one per stream copies nothing.
func ReadPicked(mapType MapType, t *PickTable, p *Picked) error {
	st, data, size := callGetHeaderMapPairs(uint32(mapType))
	afterHostReply()
	if st != statusOK {
		return failure(st)
	}
	b, err := claim(data, size)
	if err != nil {
		return err
	}
	n, present, repeated := pickPairs(b, t, &p.Spans)
	if n < 0 {
		return ErrMalformedPairs
	}
	p.Present, p.Repeated = uint16(present), repeated
	p.Pairs.set(b, n) // field by field: a Pairs assigned whole is a copy through the stack
	return nil
}

// Map returns the whole serialized map, which Picked's spans index.
func (ps *Pairs) Map() string {
	if ps.buf == nil {
		return ""
	}
	return unsafe.String((*byte)(ps.buf), ps.end)
}

// pickPairsGo is pickPairs in Go: what the native build runs, and what the
// Wasm build's assembly (pick_wasm.s) is tested against. It returns
// countPairsGo(buf), and for a map that follows the layout the names of t
// with a line (present), where the first one's value lies (spans), and
// whether a name has several lines (repeated).
func pickPairsGo(buf []byte, t *PickTable, spans *[MaxPicked]uint64) (n int, present uint64, repeated bool) {
	n = countPairsGo(buf)
	if n <= 0 {
		return n, 0, false
	}
	base := unsafe.Pointer(unsafe.SliceData(buf))
	sizes, key := 4, 4+8*n
	for range n {
		kv := *(*uint64)(unsafe.Add(base, sizes))
		k, v := int(kv&0xFFFFFFFF), int(kv>>32)
		if k < maxPickedName {
			name := unsafe.String((*byte)(unsafe.Add(base, key)), k)
			for idx := t.byLen[k]; idx != 0; idx = t.next[idx-1] {
				j := idx - 1
				if name != t.keep[j] {
					continue
				}
				if present&(1<<j) != 0 {
					repeated = true
				} else {
					present |= 1 << j
					spans[j] = uint64(key+k+1)<<32 | uint64(v)
				}
				break
			}
		}
		sizes += 8
		key += k + v + 2
	}
	return n, present, repeated
}
