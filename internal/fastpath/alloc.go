package fastpath

import "github.com/tetratelabs/wabin/wasm"

// allocBody is the added proxy_on_memory_allocate: with size in local 0,
// the running stream's context in local 1 and the new allocation's
// address in local 2,
//
//	c := cb.stream
//	if size != 0 && c != 0 && size <= c.mem.len - c.mem.used {
//		addr := c.mem.chunk + c.mem.used
//		c.mem.used += size
//		cb.last, cb.lastSize = addr, size
//		return addr
//	}
//	return goAllocate(size) // at.goFn
//
// It takes the bytes from the free end of the stream's arena chunk, notes
// the allocation for abi's claim, which hands the bytes to Go code, and
// leaves the rest (a root callback's allocation, a full chunk or none,
// size 0) to Go's export. The chunk stays alive through the arena's
// slice.
func allocBody(at site) []byte {
	c := newCode(at)
	c.add(wasm.OpcodeBlock, 0x40)
	// size != 0
	c.get(0).add(wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0)
	// c != 0
	c.cb().load(OffsetStream).add(wasm.OpcodeLocalTee, 1, wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0)
	// size <= len - used
	c.get(0).get(1).load(OffsetChunkLen).get(1).load(OffsetUsed).add(wasm.OpcodeI32Sub, wasm.OpcodeI32GtU, wasm.OpcodeBrIf, 0)
	// addr := chunk + used
	c.get(1).load(OffsetChunk).get(1).load(OffsetUsed).add(wasm.OpcodeI32Add, wasm.OpcodeLocalSet, 2)
	// used += size, as a whole word
	c.get(1).get(1).load(OffsetUsed).get(0).add(wasm.OpcodeI32Add, wasm.OpcodeI64ExtendI32U).mem(wasm.OpcodeI64Store, 3, OffsetUsed)
	// cb.last, cb.lastSize = addr, size
	c.cb().get(2).mem(wasm.OpcodeI32Store, 2, OffsetLast)
	c.cb().get(0).mem(wasm.OpcodeI32Store, 2, OffsetLastSize)
	c.get(2).add(wasm.OpcodeReturn, wasm.OpcodeEnd)
	return c.get(0).call(at.goFn).add(wasm.OpcodeEnd).b
}
