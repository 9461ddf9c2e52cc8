package abi

import "unsafe"

// Memory for the host.
//
// The host copies data into the guest by calling proxy_on_memory_allocate and
// then writing the returned address into a slot the guest passed to the host
// call. The allocation is noted (cb.last and cb.lastSize) until the guest
// claims it (claim), the next allocation replaces it, or the outermost
// exported callback returns (leave). A host call returns at most one piece
// of data, and the guest claims it as soon as the call returns, so one note
// is enough.
//
// During a stream's callbacks the allocations come from the stream's arena,
// so that what the plugin reads stays valid until the stream is deleted and
// the arena's memory is then reused by a later stream: at steady state a
// request allocates nothing, and the VM's linear memory stops growing once
// the first requests have warmed the arenas. Root callbacks (configuration)
// get fresh buffers (rootData holds the last one until the callback ends).
//
// In the built module most of a stream's allocations do not reach
// allocate: the post-link step (internal/fastpath) puts a
// proxy_on_memory_allocate of plain WebAssembly in front of it, which takes
// the bytes from the free end of the running stream's arena chunk itself
// (reading cb.stream and the arena's fields) and notes them as allocate
// does; it leaves everything else to allocate.
//
// claim compares the address with the noted one rather than converting a
// host-written number into a pointer, so a host that returns an address it
// did not get from us yields an error, not a read of arbitrary memory.
var (
	rootData []byte // a root callback's last allocation, until the callback ends
	depth    int    // nesting of exported callbacks being run
)

// callbackState is the state the plain-WebAssembly callbacks of the
// built module (proxy_on_memory_allocate, and the usual cases of
// proxy_on_context_create and proxy_on_delete) share with Go: the running
// callback's, and the stream contexts'. internal/fastpath holds its
// layout, a stream context's and the table's, and TestFastStateLayout
// holds these types to them. The fast paths write integers only (the
// arena's used, last, lastSize, a slot's ID, counts and flags), so Go's
// write barriers are not missed.
type callbackState struct {
	marker [2]uint64      // how the post-link step finds cb in the module's data
	stream *streamContext // the stream whose callback runs; nil otherwise
	// last and lastSize note the last allocation (last 0: none, or
	// claimed), whoever made it.
	last, lastSize uint32
	// The stream contexts, which the plain-WebAssembly context callbacks
	// read and write too: the table of live and parked contexts
	// (contexts), the bytes the arenas of released contexts keep (parked
	// and spare), how many contexts are parked, and whether a released
	// context keeps its Stream (ReuseStreams).
	streams    contexts
	spareBytes int
	parked     int
	reuse      bool
	// handOff are the prefixes of the response header names that make the
	// layer hand a response to the stream (StreamAddsToResponse).
	handOff []string
}

// cb is the running callback's state; its marker is fastpath.Marker.
var cb = callbackState{marker: [2]uint64{0x5f1c3a9be27d4086, 0xa4e9021d7c3b6f58}}

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
	cb.last = 0
	if size == 0 || size > maxHostData {
		return 0
	}
	// Go's allocator may grow the memory here, in a call nested in the
	// host call (afterHostReply).
	grewInHostCall = true
	var b []byte
	if c := cb.stream; c != nil {
		b = c.mem.take(int(size))
	} else {
		b = make([]byte, size)
		rootData = b
	}
	cb.last, cb.lastSize = addrOf(b), size
	return cb.last
}

// grewInHostCall says that allocate ran Go's allocator since the last
// host call's reply (the plain-WebAssembly allocator of internal/fastpath
// takes from a chunk, and never grows the memory).
var grewInHostCall bool

// afterHostReply follows, in the function that made it, every host call
// whose reply the host writes through proxy_on_memory_allocate (inline: a
// call in claim, or in the call wrappers, which inline, would cost each
// reply a Wasm frame of its own). When Go's allocator ran there, it
// may have grown the memory, and the WAMR of proxy-wasm-cpp-host's Envoy
// 1.29-1.32 commit (2.1.1, fast interpreter) then bounds memory.copy and
// memory.fill by the size the callback started with: runtime.memmove from
// the reply (a denial's log line copying the origin) traps as out of
// bounds, and the VM is lost (cpphost's TestMemoryGrownInAHostCall). A
// memory.grow of 0 pages in the callback itself makes it read the size
// again; it costs the rare reply that needed Go's allocator (in wazero, a
// call out of the machine code), and the others a test of one flag. (A
// host call that fails after allocating leaves the flag for the next
// reply: Envoy writes a reply only to return it.)
func afterHostReply() {
	if grewInHostCall {
		grewInHostCall = false
		refreshMemorySize()
	}
}

// claim returns the size bytes the host wrote at addr, which must be the
// last allocation (at most its size), and forgets the allocation. The bytes
// lie in the running stream's arena chunk, or in rootData, at the offset
// their address says.
func claim(addr, size uint32) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	if addr != cb.last || addr == 0 || size > cb.lastSize {
		return nil, errBadAddress
	}
	cb.last = 0
	in := rootData
	if c := cb.stream; c != nil {
		in = c.mem.chunk
	}
	off := addr - addrOf(in)
	return in[off : off+size : off+size], nil
}

// peekReply is claim without forgetting the allocation: the bytes stay
// the last allocation's, for a later claim.
func peekReply(addr, size uint32) ([]byte, error) {
	last := cb.last
	b, err := claim(addr, size)
	cb.last = last
	return b, err
}

// enter marks the start of an exported callback.
func enter() { depth++ }

// enterStream marks the start of a stream's callback: the host's writes go
// to the stream's arena.
func enterStream(c *streamContext) {
	depth++
	cb.stream = c
}

// leave marks the end of an exported callback; when the outermost one ends,
// the allocation the host did not hand back is released.
func leave() {
	depth--
	if depth <= 0 {
		depth = 0
		cb.stream = nil
		cb.last = 0
		rootData = nil
	}
}

// addrOf is the guest address of b's first byte (wasm32 addresses fit in
// 32 bits; natively the value is truncated and only serves as a key).
func addrOf(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
