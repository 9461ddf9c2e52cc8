package abi

import "unsafe"

// Memory for the host.
//
// The host copies data into the guest by calling proxy_on_memory_allocate and
// then writing the returned address into a slot the guest passed to the host
// call. Each allocation is kept in pinned until the guest claims it (claim)
// or the outermost exported callback returns (leave).
//
// During a stream's callbacks the allocations come from the stream's arena,
// so that what the plugin reads stays valid until the stream is deleted and
// the arena's memory is then reused by a later stream: at steady state a
// request allocates nothing, and the VM's linear memory stops growing once
// the first requests have warmed the arenas. Root callbacks (configuration)
// get fresh buffers.
//
// claim looks the address up in pinned rather than converting a host-written
// number into a pointer, so a host that returns an address it did not get
// from us yields an error, not a read of arbitrary memory.
var (
	pinned  [][]byte
	depth   int    // nesting of exported callbacks being run
	current *arena // the arena of the stream whose callback runs; nil otherwise
)

// arena is the memory the host writes into during one stream's callbacks.
type arena struct {
	chunk []byte
	used  int
}

const (
	// arenaChunk is an arena's first chunk: most requests' headers fit.
	arenaChunk = 4 << 10
	// arenaKeep bounds the chunk an arena keeps for reuse: a stream with
	// huge headers does not pin that memory for every later stream.
	arenaKeep = 64 << 10
)

// take returns size bytes of the arena. When the chunk is full, a new one
// replaces it; the old one lives on as long as views of it do.
func (a *arena) take(size int) []byte {
	if len(a.chunk)-a.used < size {
		a.chunk = make([]byte, max(arenaChunk, 2*len(a.chunk), size))
		a.used = 0
	}
	b := a.chunk[a.used : a.used+size : a.used+size]
	a.used += size
	return b
}

// reset makes the arena's memory reusable; nothing may still view it.
func (a *arena) reset() {
	if len(a.chunk) > arenaKeep {
		a.chunk = nil
	}
	a.used = 0
}

// allocate serves proxy_on_memory_allocate: size bytes for the host to write,
// or 0 (which the host treats as a failure) for size 0 or a size Go cannot
// allocate. It makes no host call: the host forbids them here.
func allocate(size uint32) (addr uint32) {
	if size == 0 {
		return 0
	}
	defer func() {
		if recover() != nil {
			addr = 0
		}
	}()
	var b []byte
	if current != nil {
		b = current.take(int(size))
	} else {
		b = make([]byte, size)
	}
	pinned = append(pinned, b)
	return addrOf(b)
}

// claim returns the size bytes the host wrote at addr and stops pinning them:
// the caller's reference keeps them alive from now on.
func claim(addr, size uint32) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	for i := len(pinned) - 1; i >= 0; i-- {
		b := pinned[i]
		if addrOf(b) != addr {
			continue
		}
		if uint32(len(b)) < size {
			return nil, errBadAddress
		}
		last := len(pinned) - 1
		pinned[i] = pinned[last]
		pinned[last] = nil
		pinned = pinned[:last]
		return b[:size:size], nil
	}
	return nil, errBadAddress
}

// enter marks the start of an exported callback.
func enter() { depth++ }

// enterStream marks the start of a stream's callback: the host's writes go
// to the stream's arena.
func enterStream(a *arena) {
	enter()
	current = a
}

// leave marks the end of an exported callback; when the outermost one ends,
// the buffers the host did not hand back are released.
func leave() {
	depth--
	if depth <= 0 {
		depth = 0
		current = nil
		clear(pinned)
		pinned = pinned[:0]
	}
}

// addrOf is the guest address of b's first byte (wasm32 addresses fit in
// 32 bits; natively the value is truncated and only serves as a key).
func addrOf(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
