package fastpath

import "github.com/tetratelabs/wabin/wasm"

// slot pushes the address of id's slot in the context table, id in local
// idLocal: slots + (id & (len-1)) * SlotSize. The table must not be empty.
func (c *code) slot(idLocal byte) *code {
	c.cb().load(OffsetSlots)
	c.get(idLocal).cb().load(OffsetSlotsLen).i32c(1).add(wasm.OpcodeI32Sub, wasm.OpcodeI32And)
	return c.i32c(4).add(wasm.OpcodeI32Shl, wasm.OpcodeI32Add) // SlotSize is 16
}

// liveContext leaves in local ctx the context of the ID in local 0, its
// slot's address in local slotLocal, or branches to the end of the block
// it is in (to Go's callback) when ID 0, an empty table or a slot of
// another ID says the table does not hold it there.
func (c *code) liveContext(slotLocal, ctx byte) *code {
	c.get(0).add(wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0)
	c.cb().load(OffsetSlotsLen).add(wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0)
	c.slot(0).add(wasm.OpcodeLocalTee, slotLocal).load(OffsetSlotID).get(0).add(wasm.OpcodeI32Ne, wasm.OpcodeBrIf, 0)
	return c.get(slotLocal).load(OffsetSlotC).add(wasm.OpcodeLocalSet, ctx)
}

// spareBytes adds (sign 1) or takes (sign -1) the chunk length of the
// context in local ctx to or from cb.spareBytes, as a whole word.
func (c *code) spareBytes(ctx byte, sign int) *code {
	c.cb().cb().load64(OffsetSpareBytes).get(ctx).load64(OffsetChunkLen)
	op := byte(wasm.OpcodeI64Add)
	if sign < 0 {
		op = wasm.OpcodeI64Sub
	}
	return c.add(op).mem(wasm.OpcodeI64Store, 3, OffsetSpareBytes)
}

// createBody is the added proxy_on_context_create, abi's unpark: with
// the new context's ID in local 0, its parent's in local 1, the slot's
// address in local 2 and the parked context in local 3,
//
//	if parent != 0 && id != 0 && over == nil && 2*(n+1) <= len(slots) {
//		s := &slots[id & (len-1)]
//		if s.id == 0 && s.c != nil && s.c.rootID == parent {
//			s.id = id
//			n++; parked--; spareBytes -= len(s.c.mem.chunk)
//			return
//		}
//	}
//	goCreate(id, parent)
//
// A parked context's root is alive: abi drops the parked contexts of a
// root it deletes, and parks no context of a deleted root (rootID 0).
func createBody(at site) []byte {
	c := newCode(at)
	c.add(wasm.OpcodeBlock, 0x40)
	c.get(1).add(wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0)
	c.get(0).add(wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0)
	c.cb().load(OffsetOverflow).add(wasm.OpcodeBrIf, 0)
	// 2*(n+1) > len: no room (an empty table included)
	c.cb().load(OffsetLive).i32c(1).add(wasm.OpcodeI32Add).i32c(1).add(wasm.OpcodeI32Shl)
	c.cb().load(OffsetSlotsLen).add(wasm.OpcodeI32GtU, wasm.OpcodeBrIf, 0)
	c.slot(0).add(wasm.OpcodeLocalTee, 2).load(OffsetSlotID).add(wasm.OpcodeBrIf, 0)
	c.get(2).load(OffsetSlotC).add(wasm.OpcodeLocalTee, 3, wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0)
	c.get(3).load(OffsetRootID).get(1).add(wasm.OpcodeI32Ne, wasm.OpcodeBrIf, 0)
	// unpark
	c.get(2).get(0).mem(wasm.OpcodeI32Store, 2, OffsetSlotID)
	c.bump(OffsetLive, 1).bump(OffsetParked, -1).spareBytes(3, -1)
	c.add(wasm.OpcodeReturn, wasm.OpcodeEnd)
	return c.get(0).get(1).call(at.goFn).add(wasm.OpcodeEnd).b
}

// deleteBody is the added proxy_on_delete, abi's park: with the ID in
// local 0, its slot's address in local 1 and its context in local 2,
//
//	if id != 0 && len(slots) != 0 {
//		s := &slots[id & (len-1)]
//		c := s.c
//		if s.id == id && reuse && c.Stream != nil && c.done && c.rootID != 0 && !c.mem.grew &&
//			len(c.mem.chunk) <= ArenaKeep && parked < MaxParked && spareBytes+len(c.mem.chunk) <= MaxSpareBytes {
//			c.done, c.add, c.mem.used = false, false, 0
//			s.id = 0
//			n--; parked++; spareBytes += len(c.mem.chunk)
//			return
//		}
//	}
//	goDelete(id)
func deleteBody(at site) []byte {
	c := newCode(at)
	br := func() { c.add(wasm.OpcodeBrIf, 0) }
	brIfZero := func() { c.add(wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0) }
	c.add(wasm.OpcodeBlock, 0x40)
	c.liveContext(1, 2)
	c.cb().load8(OffsetReuse)
	brIfZero()
	c.get(2).load(OffsetStreamType)
	brIfZero()
	c.get(2).load8(OffsetDone)
	brIfZero()
	c.get(2).load(OffsetRootID)
	brIfZero()
	c.get(2).load8(OffsetGrew)
	br()
	c.get(2).load(OffsetChunkLen).i32c(ArenaKeep).add(wasm.OpcodeI32GtU)
	br()
	c.cb().load(OffsetParked).i32c(MaxParked).add(wasm.OpcodeI32GeU)
	br()
	c.cb().load(OffsetSpareBytes).get(2).load(OffsetChunkLen).add(wasm.OpcodeI32Add).i32c(MaxSpareBytes).add(wasm.OpcodeI32GtU)
	br()
	// park
	c.get(2).i32c(0).mem(wasm.OpcodeI32Store8, 0, OffsetDone)
	c.get(2).i32c(0).mem(wasm.OpcodeI32Store8, 0, OffsetAdd)
	c.get(2).add(wasm.OpcodeI64Const, 0).mem(wasm.OpcodeI64Store, 3, OffsetUsed)
	c.get(1).i32c(0).mem(wasm.OpcodeI32Store, 2, OffsetSlotID)
	c.bump(OffsetLive, -1).bump(OffsetParked, 1).spareBytes(2, 1)
	c.add(wasm.OpcodeReturn, wasm.OpcodeEnd)
	return c.get(0).call(at.goFn).add(wasm.OpcodeEnd).b
}
