package fastpath

import "github.com/tetratelabs/wabin/wasm"

// responseBody is the added proxy_on_response_headers, for a stream that
// ended itself (StreamDone, StreamDoneAdding) or handed its response to
// the layer (StreamAddsToResponse). With the ID in local 0 (the header
// count and end of stream in 1 and 2, passed on to Go's), its slot's
// address in local 3, its context in local 4 and the host's status in
// local 5,
//
//	if id != 0 && len(slots) != 0 {
//		s := &slots[id & (len-1)]
//		if c := s.c; s.id == id {
//			if c.done {
//				if c.add {
//					c.add = false
//					if st := add(MapResponseHeaders, c.addName, c.addValue); st != 0 {
//						c.addFailed = st
//						return goResponse(id, n, end) // which reports it
//					}
//				}
//				return Continue
//			}
//			if c.addLines {
//				c.addLines = false
//				c.preSize = 0
//				cb.stream = c // the reply goes to the stream's arena
//				st := get_header_map_pairs(MapResponseHeaders, &c.preData, &c.preSize)
//				cb.stream = nil
//				if st == 0 && !forStream(c.preData, c.preSize) {
//					c.done, cb.last, c.preSize, c.addFailedLine = true, 0, 0, 0
//					for i, line := range append([][2]string{{c.addName, c.addValue}}, c.lines...) {
//						if st := add(MapResponseHeaders, line[0], line[1]); st != 0 {
//							c.addFailed, c.addFailedLine = st, i
//							break
//						}
//					}
//					for _, id := range c.counters {
//						increment(id, 1)
//					}
//					if c.addFailed != 0 {
//						return goResponse(id, n, end) // which reports it
//					}
//					return Continue
//				}
//			}
//		}
//	}
//	return goResponse(id, n, end) // with the map read, when it was
//
// where forStream (abi's) says the map is not the last allocation (claim's
// check), a line's name begins with one of cb.handOff's prefixes, or the
// map's sizes run past its end; the names lie inside the map once the
// sizes are checked, and only they are read.
// cb.stream is the one pointer the function stores: the context stays
// reachable through its table slot, which Go stored, whatever the
// collector sees of the store.
func responseBody(at site) []byte {
	const (
		slot, ctx, status     = 3, 4, 5
		key, end, sizes, n    = 6, 7, 8, 9
		k, v, i, ptr, plen, j = 10, 11, 12, 13, 14, 15
		goBlock               = 0 // the depth of Go's block, at the top level
	)
	c := newCode(at)
	brIfZero := func(depth byte) { c.add(wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, depth) }
	set := func(local byte) *code { return c.add(wasm.OpcodeLocalSet, local) }
	tee := func(local byte) *code { return c.add(wasm.OpcodeLocalTee, local) }
	store8 := func(offset uint32) *code { return c.mem(wasm.OpcodeI32Store8, 0, offset) }
	store32 := func(offset uint32) *code { return c.mem(wasm.OpcodeI32Store, 2, offset) }

	c.add(wasm.OpcodeBlock, 0x40) // Go's
	c.liveContext(slot, ctx)

	// A finished stream: its line, if any.
	c.get(ctx).load8(OffsetDone).add(wasm.OpcodeIf, 0x40)
	c.get(ctx).load8(OffsetAdd).add(wasm.OpcodeIf, 0x40)
	c.get(ctx).i32c(0)
	store8(OffsetAdd)
	c.addFirstLine(at, ctx, status)
	c.add(wasm.OpcodeBr, 3, wasm.OpcodeEnd, wasm.OpcodeEnd) // to Go's, which reports it
	c.i32c(0).add(wasm.OpcodeReturn, wasm.OpcodeEnd)        // Continue

	// A stream that handed its response over.
	c.get(ctx).load8(OffsetAddLines)
	brIfZero(goBlock)
	c.get(ctx).i32c(0)
	store8(OffsetAddLines)
	c.get(ctx).i32c(0)
	store32(OffsetPreSize)
	c.cb().get(ctx).add(wasm.OpcodeI64ExtendI32U).mem(wasm.OpcodeI64Store, 3, OffsetStream)
	c.i32c(MapResponseHeaders)
	c.get(ctx).i32c(OffsetPreData).add(wasm.OpcodeI32Add)
	c.get(ctx).i32c(OffsetPreSize).add(wasm.OpcodeI32Add)
	c.call(at.getPairs)
	set(status)
	c.cb().add(wasm.OpcodeI64Const, 0).mem(wasm.OpcodeI64Store, 3, OffsetStream)
	c.get(status).add(wasm.OpcodeBrIf, goBlock)

	// The map's lines (none when it is empty): where the stream's arena
	// took them (claim's check), and any name the stream's?
	c.get(ctx).load(OffsetPreSize).add(wasm.OpcodeIf, 0x40)
	c.get(ctx).load(OffsetPreData).cb().load(OffsetLast).add(wasm.OpcodeI32Ne, wasm.OpcodeBrIf, 1)
	c.get(ctx).load(OffsetPreData)
	brIfZero(1)
	c.get(ctx).load(OffsetPreSize).cb().load(OffsetLastSize).add(wasm.OpcodeI32GtU, wasm.OpcodeBrIf, 1)
	//  at least the count, and room for n sizes: n <= (size-4)/8
	c.get(ctx).load(OffsetPreSize).i32c(4).add(wasm.OpcodeI32LtU, wasm.OpcodeBrIf, 1)
	c.get(ctx).load(OffsetPreData).add(wasm.OpcodeI32Load, 2, 0)
	tee(n)
	c.get(ctx).load(OffsetPreSize).i32c(4).add(wasm.OpcodeI32Sub).i32c(3).add(wasm.OpcodeI32ShrU, wasm.OpcodeI32GtU, wasm.OpcodeBrIf, 1)
	c.get(ctx).load(OffsetPreData)
	tee(sizes).get(ctx).load(OffsetPreSize).add(wasm.OpcodeI32Add)
	set(end)
	c.get(sizes).i32c(4).add(wasm.OpcodeI32Add)
	tee(sizes).get(n).i32c(3).add(wasm.OpcodeI32Shl, wasm.OpcodeI32Add)
	set(key)
	c.add(wasm.OpcodeBlock, 0x40, wasm.OpcodeLoop, 0x40) // lines: depths 1 (done) and 0 (next); Go's is 3
	c.get(n)
	brIfZero(1)
	c.get(sizes).load(0)
	set(k)
	c.get(sizes).load(4)
	set(v)
	//  key + k + v + 2 <= end, in 64 bits
	c.get(key).add(wasm.OpcodeI64ExtendI32U).get(k).add(wasm.OpcodeI64ExtendI32U, wasm.OpcodeI64Add)
	c.get(v).add(wasm.OpcodeI64ExtendI32U, wasm.OpcodeI64Add, wasm.OpcodeI64Const, 2, wasm.OpcodeI64Add)
	c.get(end).add(wasm.OpcodeI64ExtendI32U, wasm.OpcodeI64GtU, wasm.OpcodeBrIf, 3)
	//  each prefix
	c.i32c(0)
	set(i)
	c.add(wasm.OpcodeBlock, 0x40, wasm.OpcodeLoop, 0x40) // prefixes: depths 1 (done) and 0; Go's is 5
	c.get(i).cb().load(OffsetHandOffLen).add(wasm.OpcodeI32GeU, wasm.OpcodeBrIf, 1)
	c.cb().load(OffsetHandOff).get(i).i32c(4).add(wasm.OpcodeI32Shl, wasm.OpcodeI32Add) // StringSize is 16
	tee(ptr).load(8)
	set(plen)
	c.get(ptr).load(0)
	set(ptr)
	c.get(k).get(plen).add(wasm.OpcodeI32GeU, wasm.OpcodeIf, 0x40) // long enough: compare bytes
	c.i32c(0)
	set(j)
	c.add(wasm.OpcodeBlock, 0x40, wasm.OpcodeLoop, 0x40)          // bytes: depths 1 (differ) and 0; Go's is 8
	c.get(j).get(plen).add(wasm.OpcodeI32GeU, wasm.OpcodeBrIf, 8) // the whole prefix: the stream's
	c.get(key).get(j).add(wasm.OpcodeI32Add).load8(0)
	c.get(ptr).get(j).add(wasm.OpcodeI32Add).load8(0)
	c.add(wasm.OpcodeI32Ne, wasm.OpcodeBrIf, 1)
	c.get(j).i32c(1).add(wasm.OpcodeI32Add)
	set(j)
	c.add(wasm.OpcodeBr, 0, wasm.OpcodeEnd, wasm.OpcodeEnd) // bytes
	c.add(wasm.OpcodeEnd)                                   // if long enough
	c.get(i).i32c(1).add(wasm.OpcodeI32Add)
	set(i)
	c.add(wasm.OpcodeBr, 0, wasm.OpcodeEnd, wasm.OpcodeEnd) // prefixes
	//  the next line
	c.get(key).get(k).add(wasm.OpcodeI32Add).get(v).add(wasm.OpcodeI32Add).i32c(2).add(wasm.OpcodeI32Add)
	set(key)
	c.get(sizes).i32c(8).add(wasm.OpcodeI32Add)
	set(sizes)
	c.get(n).i32c(1).add(wasm.OpcodeI32Sub)
	set(n)
	c.add(wasm.OpcodeBr, 0, wasm.OpcodeEnd, wasm.OpcodeEnd) // lines
	c.add(wasm.OpcodeEnd)                                   // if the map has lines

	// None is the stream's: the lines, the stream's first, then the
	// counters, and a refused add to Go's, which reports it.
	c.get(ctx).i32c(1)
	store8(OffsetDone)
	c.cb().i32c(0)
	store32(OffsetLast)
	c.get(ctx).i32c(0)
	store32(OffsetPreSize)
	c.get(ctx).i32c(0)
	store32(OffsetAddFailedLine)
	c.add(wasm.OpcodeBlock, 0x40) // added: depth 0 here; Go's is 1
	c.addFirstLine(at, ctx, status)
	c.add(wasm.OpcodeBr, 1, wasm.OpcodeEnd) // added
	c.i32c(0)
	set(i)
	c.get(ctx).load(OffsetLines)
	set(ptr)
	c.add(wasm.OpcodeBlock, 0x40, wasm.OpcodeLoop, 0x40) // lines: depths 1 (done) and 0; added is 2
	c.get(i).get(ctx).load(OffsetLinesLen).add(wasm.OpcodeI32GeU, wasm.OpcodeBrIf, 1)
	c.i32c(MapResponseHeaders)
	c.get(ptr).load(0).get(ptr).load(8).get(ptr).load(16).get(ptr).load(24)
	c.call(at.addHeader)
	tee(status).add(wasm.OpcodeIf, 0x40)
	c.get(ctx).get(status)
	store32(OffsetAddFailed)
	c.get(ctx).get(i).i32c(1).add(wasm.OpcodeI32Add)
	store32(OffsetAddFailedLine)
	c.add(wasm.OpcodeBr, 3, wasm.OpcodeEnd) // added
	c.get(i).i32c(1).add(wasm.OpcodeI32Add)
	set(i)
	c.get(ptr).i32c(2 * StringSize).add(wasm.OpcodeI32Add)
	set(ptr)
	c.add(wasm.OpcodeBr, 0, wasm.OpcodeEnd, wasm.OpcodeEnd) // lines
	c.add(wasm.OpcodeEnd)                                   // added
	c.i32c(0)
	set(i)
	c.get(ctx).load(OffsetCounters)
	set(ptr)
	c.add(wasm.OpcodeBlock, 0x40, wasm.OpcodeLoop, 0x40) // counters
	c.get(i).get(ctx).load(OffsetCountersLen).add(wasm.OpcodeI32GeU, wasm.OpcodeBrIf, 1)
	c.get(ptr).get(i).i32c(2).add(wasm.OpcodeI32Shl, wasm.OpcodeI32Add).load(0)
	c.add(wasm.OpcodeI64Const, 1).call(at.increment).add(wasm.OpcodeDrop)
	c.get(i).i32c(1).add(wasm.OpcodeI32Add)
	set(i)
	c.add(wasm.OpcodeBr, 0, wasm.OpcodeEnd, wasm.OpcodeEnd) // counters
	c.get(ctx).load(OffsetAddFailed).add(wasm.OpcodeBrIf, goBlock)
	c.i32c(0).add(wasm.OpcodeReturn) // Continue
	c.add(wasm.OpcodeEnd)            // Go's
	return c.get(0).get(1).get(2).call(at.goFn).add(wasm.OpcodeEnd).b
}

// addFirstLine adds the line addName: addValue of the context in local
// ctx to the response headers, and opens an if, at the depth of its
// caller's choice, for the add the host refused, with its status in local
// status and in the context's addFailed.
func (c *code) addFirstLine(at site, ctx, status byte) {
	c.i32c(MapResponseHeaders)
	c.get(ctx).load(OffsetAddName).get(ctx).load(OffsetAddName + 8)
	c.get(ctx).load(OffsetAddValue).get(ctx).load(OffsetAddValue + 8)
	c.call(at.addHeader).add(wasm.OpcodeLocalTee, status, wasm.OpcodeIf, 0x40)
	c.get(ctx).get(status).mem(wasm.OpcodeI32Store, 2, OffsetAddFailed)
}
