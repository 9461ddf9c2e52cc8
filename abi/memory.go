package abi

import "unsafe"

// Memory for the host.
//
// The host copies data into the guest by calling proxy_on_memory_allocate and
// then writing the returned address into a slot the guest passed to the host
// call. The allocation is kept in hostData until the guest claims it (claim),
// the next allocation replaces it, or the outermost exported callback
// returns (leave). A host call returns at most one piece of data, and the
// guest claims it as soon as the call returns, so one slot is enough.
//
// During a stream's callbacks the allocations come from the stream's arena,
// so that what the plugin reads stays valid until the stream is deleted and
// the arena's memory is then reused by a later stream: at steady state a
// request allocates nothing, and the VM's linear memory stops growing once
// the first requests have warmed the arenas. Root callbacks (configuration)
// get fresh buffers.
//
// claim compares the address with hostData's rather than converting a
// host-written number into a pointer, so a host that returns an address it
// did not get from us yields an error, not a read of arbitrary memory.
var (
	hostData []byte         // the last allocation, not yet claimed
	depth    int            // nesting of exported callbacks being run
	current  *streamContext // the stream whose callback runs; nil otherwise
)

// maxHostData bounds one allocation for the host: a larger request is
// refused (the host call then fails) rather than growing the VM's memory
// towards its 4 GiB limit.
const maxHostData = 256 << 20

// arena is the memory the host writes into during one stream's callbacks.
type arena struct {
	chunk []byte
	used  int
	// grew says a chunk was replaced since the last reset: the stream may
	// view memory the arena no longer holds.
	grew bool
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
		a.grew = a.grew || a.used > 0
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
	a.used, a.grew = 0, false
}

// allocate serves proxy_on_memory_allocate: size bytes for the host to write,
// or 0 (which the host treats as a failure) for size 0 or over maxHostData.
// It makes no host call (the host forbids them here) and cannot panic, so
// it needs no recovery.
//
//go:wasmexport proxy_on_memory_allocate
func allocate(size uint32) uint32 {
	if size == 0 || size > maxHostData {
		return 0
	}
	if current != nil {
		hostData = current.mem.take(int(size))
	} else {
		hostData = make([]byte, size)
	}
	return addrOf(hostData)
}

// claim returns the size bytes the host wrote at addr, which must be the
// last allocation, and stops holding them: the caller's reference keeps
// them alive from now on.
func claim(addr, size uint32) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	b := hostData
	if b == nil || addrOf(b) != addr || uint32(len(b)) < size {
		return nil, errBadAddress
	}
	hostData = nil
	return b[:size:size], nil
}

// enter marks the start of an exported callback.
func enter() { depth++ }

// enterStream marks the start of a stream's callback: the host's writes go
// to the stream's arena.
func enterStream(c *streamContext) {
	depth++
	current = c
}

// leave marks the end of an exported callback; when the outermost one ends,
// the allocation the host did not hand back is released.
func leave() {
	depth--
	if depth <= 0 {
		depth = 0
		current = nil
		hostData = nil
	}
}

// addrOf is the guest address of b's first byte (wasm32 addresses fit in
// 32 bits; natively the value is truncated and only serves as a key).
func addrOf(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
