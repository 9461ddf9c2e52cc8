package abi

import "unsafe"

// Memory for the host.
//
// The host copies data into the guest by calling proxy_on_memory_allocate and
// then writing the returned address into a slot the guest passed to the host
// call. Every allocation is a fresh Go slice kept in pinned, so the garbage
// collector sees it until the guest claims it (claim) or the outermost
// exported callback returns (leave). Buffers are never reused: strings handed
// to the plugin may be views of them.
//
// claim looks the address up in pinned rather than converting a host-written
// number into a pointer, so a host that returns an address it did not get
// from us yields an error, not a read of arbitrary memory.
var (
	pinned [][]byte
	depth  int // nesting of exported callbacks being run
)

// allocate serves proxy_on_memory_allocate: a fresh zeroed buffer of size
// bytes, or 0 (which the host treats as a failure) for size 0 or a size Go
// cannot allocate. It makes no host call: the host forbids them here.
func allocate(size uint32) (addr uint32) {
	if size == 0 {
		return 0
	}
	defer func() {
		if recover() != nil {
			addr = 0
		}
	}()
	b := make([]byte, size)
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

// leave marks the end of an exported callback; when the outermost one ends,
// the buffers the host did not hand back are released.
func leave() {
	depth--
	if depth <= 0 {
		depth = 0
		clear(pinned)
		pinned = pinned[:0]
	}
}

// addrOf is the guest address of b's first byte (wasm32 addresses fit in
// 32 bits; natively the value is truncated and only serves as a key).
func addrOf(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
