//go:build !wasip1

package fastpath

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// slowBase is what the synthetic module's "Go" allocator adds to the size
// it returns, so that a test tells its answers from the fast path's.
const slowBase = 1_000_000

// The synthetic module's memory: the state at stateAt; a stream context
// at streamAt whose chunk starts at chunkAt; the context table's slots at
// slotsAt; where the "Go" context callbacks note their calls, recordAt
// (create's ID, parent and calls; delete's ID and calls, a word each).
const (
	stateAt  = 1024
	streamAt = 4096
	chunkAt  = 8192
	slotsAt  = 16384
	recordAt = 20480
)

var (
	i32Param = []wasm.ValueType{wasm.ValueTypeI32}
	i32Pair  = []wasm.ValueType{wasm.ValueTypeI32, wasm.ValueTypeI32}
)

// synthetic is a module shaped like the plugin where it matters here: it
// imports env.proxy_add_header_map_value (function 0),
// env.proxy_get_header_map_pairs (1) and env.proxy_increment_metric (2),
// exports the four callbacks by functions standing for Go's (3 allocates
// at slowBase + size; 4, 5 and 6 note their calls at recordAt, and 6
// returns goResponseAction), and holds the marker markers times in a data
// segment. allocSig is the allocator's parameters.
func synthetic(markers int, allocSig []wasm.ValueType) []byte {
	var data []byte
	for range markers {
		var m [16]byte
		binary.LittleEndian.PutUint64(m[:8], Marker[0])
		binary.LittleEndian.PutUint64(m[8:], Marker[1])
		data = append(data, m[:]...)
		data = append(data, make([]byte, 96)...)
	}
	const (
		get, constI32, add, store = wasm.OpcodeLocalGet, wasm.OpcodeI32Const, wasm.OpcodeI32Add, wasm.OpcodeI32Store
		load, end                 = wasm.OpcodeI32Load, wasm.OpcodeEnd
	)
	leb := func(o uint32) []byte { return []byte{byte(o&0x7F | 0x80), byte(o>>7&0x7F | 0x80), byte(o >> 14)} }
	rec := func(off uint32) []byte { return append([]byte{store, 2}, leb(recordAt+off)...) } // the value at recordAt+off
	ld := func(off uint32) []byte { return append([]byte{load, 2}, leb(recordAt+off)...) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	zero := []byte{constI32, 0}
	count := func(off uint32) []byte { return cat(zero, zero, ld(off), []byte{constI32, 1, add}, rec(off)) }
	i32 := wasm.ValueTypeI32
	m := &wasm.Module{
		TypeSection: []*wasm.FunctionType{
			{Params: allocSig, Results: i32Param},
			{Params: i32Pair},
			{Params: i32Param},
			{Params: []wasm.ValueType{i32, i32, i32}, Results: i32Param},
			{Params: []wasm.ValueType{i32, i32, i32, i32, i32}, Results: i32Param},
			{Params: []wasm.ValueType{i32, wasm.ValueTypeI64}, Results: i32Param},
		},
		ImportSection: []*wasm.Import{
			{Module: "env", Name: "proxy_add_header_map_value", Type: wasm.ExternTypeFunc, DescFunc: 4},
			{Module: "env", Name: "proxy_get_header_map_pairs", Type: wasm.ExternTypeFunc, DescFunc: 3},
			{Module: "env", Name: "proxy_increment_metric", Type: wasm.ExternTypeFunc, DescFunc: 5},
		},
		FunctionSection: []wasm.Index{0, 1, 2, 3},
		CodeSection: []*wasm.Code{
			{Body: []byte{get, 0, constI32, 0xC0, 0x84, 0x3D, add, end}}, // + 1,000,000
			{Body: cat(zero, []byte{get, 0}, rec(0), zero, []byte{get, 1}, rec(4), count(8), []byte{end})},
			{Body: cat(zero, []byte{get, 0}, rec(12), count(16), []byte{end})},
			{Body: cat(zero, []byte{get, 0}, rec(20), count(24), []byte{constI32, goResponseAction, end})},
		},
		MemorySection: &wasm.Memory{Min: 1, Max: 1},
		ExportSection: []*wasm.Export{
			{Name: "proxy_on_memory_allocate", Type: wasm.ExternTypeFunc, Index: 3},
			{Name: "proxy_on_context_create", Type: wasm.ExternTypeFunc, Index: 4},
			{Name: "proxy_on_delete", Type: wasm.ExternTypeFunc, Index: 5},
			{Name: "proxy_on_response_headers", Type: wasm.ExternTypeFunc, Index: 6},
			{Name: "memory", Type: wasm.ExternTypeMemory, Index: 0},
		},
		DataSection: []*wasm.DataSegment{{
			OffsetExpression: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: []byte{0x80, 0x08}}, // 1024
			Init:             data,
		}},
		NameSection: &wasm.NameSection{FunctionNames: wasm.NameMap{{Index: 3, Name: "abi.allocate"}}},
	}
	return wabin.EncodeModule(m)
}

// goResponseAction is what the synthetic module's "Go" response callback
// returns.
const goResponseAction = 7

// instance runs the rewritten synthetic module, behind a host whose
// proxy_add_header_map_value notes its calls and returns status.
type instance struct {
	t      *testing.T
	ctx    context.Context
	mod    api.Module
	status uint32
	added  []string // "map name: value"
	// The host's proxy_get_header_map_pairs: it writes pairs (a map) where
	// the module's proxy_on_memory_allocate says, unless it answers
	// pairsStatus; gets counts its calls.
	pairs       []byte
	pairsStatus uint32
	gets        int
	addStatus   map[int]uint32 // the status of the i-th add, when not status
	incremented []uint32       // the counters proxy_increment_metric incremented
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	out, r, err := Rewrite(synthetic(1, i32Param))
	if err != nil {
		t.Fatal(err)
	}
	if r.State != stateAt || len(r.Added) != 4 || r.Done {
		t.Fatalf("report %+v, want the state at %d and four callbacks added", r, stateAt)
	}
	again, r2, err := Rewrite(out)
	if err != nil || !r2.Done || len(r2.Added) != 0 || !bytes.Equal(again, out) {
		t.Fatalf("rewriting the rewritten module: %+v, %v; want it as it is", r2, err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	in := &instance{t: t, ctx: ctx}
	_, err = rt.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithFunc(func(_ context.Context, m api.Module, mapType, name, nameLen, value, valueLen uint32) uint32 {
			n, _ := m.Memory().Read(name, nameLen)
			v, _ := m.Memory().Read(value, valueLen)
			in.added = append(in.added, fmt.Sprintf("%d %s: %s", mapType, n, v))
			if st, ok := in.addStatus[len(in.added)-1]; ok {
				return st
			}
			return in.status
		}).Export("proxy_add_header_map_value").
		NewFunctionBuilder().
		WithFunc(func(ctx context.Context, m api.Module, mapType, dataAt, sizeAt uint32) uint32 {
			in.gets++
			if in.pairsStatus != 0 {
				return in.pairsStatus
			}
			addr := uint32(0)
			if len(in.pairs) > 0 {
				res, err := m.ExportedFunction("proxy_on_memory_allocate").Call(ctx, uint64(len(in.pairs)))
				if err != nil {
					t.Fatal(err)
				}
				addr = api.DecodeU32(res[0])
				m.Memory().Write(addr, in.pairs)
			}
			m.Memory().WriteUint32Le(dataAt, addr)
			m.Memory().WriteUint32Le(sizeAt, uint32(len(in.pairs)))
			return 0
		}).Export("proxy_get_header_map_pairs").
		NewFunctionBuilder().
		WithFunc(func(_ context.Context, id uint32, delta int64) uint32 {
			if delta == 1 {
				in.incremented = append(in.incremented, id)
			}
			return 0
		}).Export("proxy_increment_metric").Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in.mod, err = rt.Instantiate(ctx, out); err != nil {
		t.Fatal(err)
	}
	return in
}

func (in *instance) call(export string, args ...uint64) []uint64 {
	in.t.Helper()
	res, err := in.mod.ExportedFunction(export).Call(in.ctx, args...)
	if err != nil {
		in.t.Fatal(err)
	}
	return res
}

func (in *instance) word(at uint32) uint64 {
	v, _ := in.mod.Memory().ReadUint64Le(at)
	return v
}

func (in *instance) setWord(at uint32, v uint64) { in.mod.Memory().WriteUint64Le(at, v) }

func (in *instance) byteAt(at uint32) byte {
	v, _ := in.mod.Memory().ReadByte(at)
	return v
}

func (in *instance) setByte(at uint32, v byte) { in.mod.Memory().WriteByte(at, v) }

func TestTheFastPathTakesFromTheStreamsChunkAndLeavesTheRestToGo(t *testing.T) {
	in := newInstance(t)
	alloc := func(size uint32) uint32 {
		t.Helper()
		return api.DecodeU32(in.call("proxy_on_memory_allocate", uint64(size))[0])
	}
	// No stream: Go's.
	if got := alloc(4); got != slowBase+4 {
		t.Errorf("outside a stream's callback: %d, want Go's %d", got, slowBase+4)
	}
	in.setWord(stateAt+OffsetStream, streamAt)
	in.setWord(streamAt+OffsetChunk, chunkAt)
	in.setWord(streamAt+OffsetChunkLen, 100)
	in.setWord(streamAt+OffsetUsed, 10)
	for _, step := range []struct {
		size, want uint32
		used       uint64
	}{
		{5, chunkAt + 10, 15},
		{85, chunkAt + 15, 100}, // exactly what is left
		{1, slowBase + 1, 100},  // full: Go's
		{0, slowBase, 100},      // size 0: Go's
	} {
		got := alloc(step.size)
		if got != step.want || in.word(streamAt+OffsetUsed) != step.used {
			t.Errorf("allocate(%d) = %d, used %d; want %d, used %d", step.size, got, in.word(streamAt+OffsetUsed), step.want, step.used)
		}
		if step.want < slowBase {
			last, _ := in.mod.Memory().ReadUint32Le(stateAt + OffsetLast)
			size, _ := in.mod.Memory().ReadUint32Le(stateAt + OffsetLastSize)
			if last != step.want || size != step.size {
				t.Errorf("allocate(%d) noted %d (size %d), want %d", step.size, last, size, step.want)
			}
		}
	}
	// No chunk: Go's.
	in.setWord(streamAt+OffsetChunk, 0)
	in.setWord(streamAt+OffsetChunkLen, 0)
	in.setWord(streamAt+OffsetUsed, 0)
	if got := alloc(8); got != slowBase+8 {
		t.Errorf("a stream without a chunk: %d, want Go's", got)
	}
}

// tableState is the state the context callbacks read and write: the
// table of 16 slots at slotsAt, and one context at streamAt.
type tableState struct {
	slotID, slotC       uint32 // slot 5's (the slot of IDs 5, 21, 37...)
	live, parked, bytes uint64
	overflow, reuse     bool
	// the context
	streamType, rootID uint32
	done, grew, add    bool
	chunkLen, used     uint64
}

func (in *instance) setTable(s tableState) {
	for i := uint32(0); i < 16; i++ {
		in.setWord(slotsAt+i*SlotSize, 0)
		in.setWord(slotsAt+i*SlotSize+8, 0)
	}
	in.mod.Memory().WriteUint32Le(slotsAt+5*SlotSize+OffsetSlotID, s.slotID)
	in.setWord(slotsAt+5*SlotSize+OffsetSlotC, uint64(s.slotC))
	in.setWord(stateAt+OffsetSlots, slotsAt)
	in.setWord(stateAt+OffsetSlotsLen, 16)
	in.setWord(stateAt+OffsetOverflow, map[bool]uint64{true: 12345}[s.overflow])
	in.setWord(stateAt+OffsetLive, s.live)
	in.setWord(stateAt+OffsetParked, s.parked)
	in.setWord(stateAt+OffsetSpareBytes, s.bytes)
	in.setByte(stateAt+OffsetReuse, map[bool]byte{true: 1}[s.reuse])
	in.setWord(streamAt+OffsetStreamType, uint64(s.streamType))
	in.mod.Memory().WriteUint32Le(streamAt+OffsetRootID, s.rootID)
	in.setByte(streamAt+OffsetDone, map[bool]byte{true: 1}[s.done])
	in.setByte(streamAt+OffsetGrew, map[bool]byte{true: 1}[s.grew])
	in.setByte(streamAt+OffsetAdd, map[bool]byte{true: 1}[s.add])
	in.setWord(streamAt+OffsetChunk, chunkAt)
	in.setWord(streamAt+OffsetChunkLen, s.chunkLen)
	in.setWord(streamAt+OffsetUsed, s.used)
}

func (in *instance) table() tableState {
	id, _ := in.mod.Memory().ReadUint32Le(slotsAt + 5*SlotSize + OffsetSlotID)
	root, _ := in.mod.Memory().ReadUint32Le(streamAt + OffsetRootID)
	return tableState{
		slotID: id, slotC: uint32(in.word(slotsAt + 5*SlotSize + OffsetSlotC)),
		live: in.word(stateAt + OffsetLive), parked: in.word(stateAt + OffsetParked), bytes: in.word(stateAt + OffsetSpareBytes),
		overflow: in.word(stateAt+OffsetOverflow) != 0, reuse: in.byteAt(stateAt+OffsetReuse) != 0,
		streamType: uint32(in.word(streamAt + OffsetStreamType)), rootID: root,
		done: in.byteAt(streamAt+OffsetDone) != 0, grew: in.byteAt(streamAt+OffsetGrew) != 0, add: in.byteAt(streamAt+OffsetAdd) != 0,
		chunkLen: in.word(streamAt + OffsetChunkLen), used: in.word(streamAt + OffsetUsed),
	}
}

// goCalls returns how many times the "Go" create and delete ran, and the
// arguments of their last calls.
func (in *instance) goCalls() (creates, createID, createParent, deletes, deleteID uint32) {
	r := func(off uint32) uint32 { v, _ := in.mod.Memory().ReadUint32Le(recordAt + off); return v }
	return r(8), r(0), r(4), r(16), r(12)
}

func TestAParkedContextGoesToTheNextStreamOfItsRootInTheSlot(t *testing.T) {
	// A context of root 7 parked in slot 5, with 3 live contexts, 2 parked
	// and 9000 bytes kept.
	parked := tableState{slotID: 0, slotC: streamAt, live: 3, parked: 2, bytes: 9000, reuse: true,
		streamType: 0xABC, rootID: 7, chunkLen: 4096}
	for _, tc := range []struct {
		name       string
		id, parent uint32
		change     func(*tableState)
		fast       bool
	}{
		{"a stream of the root in the slot takes it on", 21, 7, nil, true},
		{"a stream of another root leaves it to Go", 21, 8, nil, false},
		{"a root context's creation is Go's", 21, 0, nil, false},
		{"context ID 0 is Go's", 0, 7, nil, false},
		{"a slot with a live context is Go's", 21, 7, func(s *tableState) { s.slotID = 5 }, false},
		{"a slot with nothing parked is Go's", 21, 7, func(s *tableState) { s.slotC = 0 }, false},
		{"a table with an overflow is Go's", 21, 7, func(s *tableState) { s.overflow = true }, false},
		{"a table without room is Go's", 21, 7, func(s *tableState) { s.live = 8 }, false},
		{"a table with room for one more takes it on", 21, 7, func(s *tableState) { s.live = 7 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstance(t)
			before := parked
			if tc.change != nil {
				tc.change(&before)
			}
			in.setTable(before)
			in.call("proxy_on_context_create", uint64(tc.id), uint64(tc.parent))
			creates, id, parent, _, _ := in.goCalls()
			got, want := in.table(), before
			if tc.fast {
				want.slotID, want.live, want.parked, want.bytes = tc.id, before.live+1, before.parked-1, before.bytes-before.chunkLen
				if creates != 0 {
					t.Errorf("Go's create ran")
				}
			} else if creates != 1 || id != tc.id || parent != tc.parent {
				t.Errorf("Go's create ran %d times, last with %d, %d; want once with %d, %d", creates, id, parent, tc.id, tc.parent)
			}
			if got != want {
				t.Errorf("state\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestAFinishedStreamParksItsContextInItsSlot(t *testing.T) {
	// Stream 21 of root 7, live in slot 5, finished (StreamDone), its
	// arena used, a response line left to add.
	live := tableState{slotID: 21, slotC: streamAt, live: 3, parked: 2, bytes: 9000, reuse: true,
		streamType: 0xABC, rootID: 7, done: true, add: true, chunkLen: 4096, used: 700}
	for _, tc := range []struct {
		name   string
		id     uint32
		change func(*tableState)
		fast   bool
	}{
		{"it is parked, reset", 21, nil, true},
		{"another ID in the slot is Go's", 37, nil, false},
		{"ID 0 is Go's", 0, func(s *tableState) { s.slotID = 0 }, false},
		{"without ReuseStreams, Go's", 21, func(s *tableState) { s.reuse = false }, false},
		{"a context without a Stream is Go's", 21, func(s *tableState) { s.streamType = 0 }, false},
		{"a stream that did not end itself is Go's (OnDelete)", 21, func(s *tableState) { s.done = false }, false},
		{"a stream of a deleted root is Go's", 21, func(s *tableState) { s.rootID = 0 }, false},
		{"an arena that replaced its chunk is Go's", 21, func(s *tableState) { s.grew = true }, false},
		{"a chunk larger than kept is Go's", 21, func(s *tableState) { s.chunkLen = ArenaKeep + 1 }, false},
		{"a chunk of exactly ArenaKeep is parked", 21, func(s *tableState) { s.chunkLen = ArenaKeep }, true},
		{"with MaxParked parked, Go's", 21, func(s *tableState) { s.parked = MaxParked }, false},
		{"past MaxSpareBytes, Go's", 21, func(s *tableState) { s.bytes = MaxSpareBytes - 4095 }, false},
		{"up to MaxSpareBytes, parked", 21, func(s *tableState) { s.bytes = MaxSpareBytes - 4096 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstance(t)
			before := live
			if tc.change != nil {
				tc.change(&before)
			}
			in.setTable(before)
			in.call("proxy_on_delete", uint64(tc.id))
			_, _, _, deletes, id := in.goCalls()
			got, want := in.table(), before
			if tc.fast {
				want.slotID, want.live, want.parked, want.bytes = 0, before.live-1, before.parked+1, before.bytes+before.chunkLen
				want.done, want.add, want.used = false, false, 0
				if deletes != 0 {
					t.Errorf("Go's delete ran")
				}
			} else if deletes != 1 || id != tc.id {
				t.Errorf("Go's delete ran %d times, last with %d; want once with %d", deletes, id, tc.id)
			}
			if got != want {
				t.Errorf("state\n got %+v\nwant %+v", got, want)
			}
		})
	}
	t.Run("an empty table is Go's", func(t *testing.T) {
		in := newInstance(t)
		in.setTable(live)
		in.setWord(stateAt+OffsetSlotsLen, 0)
		in.call("proxy_on_delete", 21)
		if _, _, _, deletes, _ := in.goCalls(); deletes != 1 {
			t.Errorf("Go's delete ran %d times, want once", deletes)
		}
	})
}

func TestRewriteLeavesOtherModulesAlone(t *testing.T) {
	noExports := func() []byte {
		m, _ := wabin.DecodeModule(synthetic(1, i32Param), wasm.CoreFeaturesV2)
		m.ExportSection = m.ExportSection[4:]
		return wabin.EncodeModule(m)
	}()
	for _, tc := range []struct {
		name   string
		module []byte
	}{
		{"no marker", synthetic(0, i32Param)},
		{"none of the callbacks exported", noExports},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, r, err := Rewrite(tc.module)
			if err != nil || len(r.Added) != 0 || r.Done || !bytes.Equal(out, tc.module) {
				t.Errorf("Rewrite = %d bytes, %+v, %v; want the module as it was", len(out), r, err)
			}
		})
	}
}

func TestRewriteRefusesWhatItCannotTrust(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{name: "the marker twice", in: synthetic(2, i32Param), want: "the fast paths' marker is in the module's data 2 times"},
		{name: "an export of another signature", in: synthetic(1, i32Pair), want: "export proxy_on_memory_allocate does not have the signature"},
		{name: "not a module", in: []byte("\x00asm\x02"), want: "decoding the module"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Rewrite(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAStreamThatEndedItselfGetsItsResponseLineWithoutGo(t *testing.T) {
	const nameAt, valueAt = 12000, 12100
	finished := tableState{slotID: 21, slotC: streamAt, live: 3, reuse: true, streamType: 0xABC, rootID: 7, done: true, chunkLen: 4096}
	for _, tc := range []struct {
		name      string
		id        uint32
		change    func(*tableState)
		status    uint32 // the host's answer to the add
		wantAdded bool
		wantGo    bool
	}{
		{"a stream that ended itself is answered Continue", 21, nil, 0, false, false},
		{"its line is added", 21, func(s *tableState) { s.add = true }, 0, true, false},
		{"a refused add is left to Go's to report", 21, func(s *tableState) { s.add = true }, 5, true, true},
		{"a stream that did not end itself is Go's", 21, func(s *tableState) { s.done = false }, 0, false, true},
		{"another ID in the slot is Go's", 37, nil, 0, false, true},
		{"ID 0 is Go's", 0, func(s *tableState) { s.slotID = 0 }, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstance(t)
			before := finished
			if tc.change != nil {
				tc.change(&before)
			}
			in.setTable(before)
			in.mod.Memory().WriteString(nameAt, "vary")
			in.mod.Memory().WriteString(valueAt, "origin")
			in.setWord(streamAt+OffsetAddName, nameAt)
			in.setWord(streamAt+OffsetAddName+8, 4)
			in.setWord(streamAt+OffsetAddValue, valueAt)
			in.setWord(streamAt+OffsetAddValue+8, 6)
			in.status = tc.status
			action := api.DecodeU32(in.call("proxy_on_response_headers", uint64(tc.id), 3, 1)[0])
			goCalls, _ := in.mod.Memory().ReadUint32Le(recordAt + 24)
			goID, _ := in.mod.Memory().ReadUint32Le(recordAt + 20)
			failed, _ := in.mod.Memory().ReadUint32Le(streamAt + OffsetAddFailed)
			wantAction, wantCalls := uint32(0), uint32(0)
			if tc.wantGo {
				wantAction, wantCalls = goResponseAction, 1
			}
			if action != wantAction || goCalls != wantCalls || tc.wantGo && goID != tc.id {
				t.Errorf("action %d, Go's response ran %d times (ID %d); want %d, %d times (ID %d)", action, goCalls, goID, wantAction, wantCalls, tc.id)
			}
			wantLines := []string(nil)
			if tc.wantAdded {
				wantLines = []string{fmt.Sprintf("%d vary: origin", MapResponseHeaders)}
			}
			if fmt.Sprint(in.added) != fmt.Sprint(wantLines) {
				t.Errorf("added %q, want %q", in.added, wantLines)
			}
			if got := in.table(); got.add || failed != tc.status {
				t.Errorf("after it: add %v, addFailed %d; want false, %d", got.add, failed, tc.status)
			}
		})
	}
}

// pairsMap serializes header lines as the host does (abi.AppendPairs).
func pairsMap(lines ...string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(lines)/2))
	for i := 0; i < len(lines); i += 2 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(lines[i])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(lines[i+1])))
	}
	for _, s := range lines {
		b = append(append(b, s...), 0)
	}
	return b
}

func TestAStreamThatHandedItsResponseOverGetsItsLinesWithoutGo(t *testing.T) {
	// The strings the state points to: the prefixes for the stream, and
	// the lines to add (the first one the stream's own).
	const stringsAt, handOffAt, linesAt, countersAt = 12000, 13000, 13200, 13400
	handing := tableState{slotID: 21, slotC: streamAt, live: 3, reuse: true, streamType: 0xABC, rootID: 7, chunkLen: 4096}
	upstream := pairsMap(":status", "200", "content-type", "application/json")
	cases := []struct {
		name        string
		change      func(*tableState)
		notHanding  bool
		pairs       []byte
		pairsStatus uint32
		addStatus   map[int]uint32
		wantAdded   int // lines added
		wantGo      bool
		wantPre     bool   // the map left for Go's
		wantFailed  uint32 // addFailed
		wantLine    uint32 // addFailedLine
	}{
		{name: "no line of the upstream's is the stream's: its lines are added", pairs: upstream, wantAdded: 3},
		{name: "an empty map: its lines are added", pairs: nil, wantAdded: 3},
		{name: "an access-control-* line goes to Go, with the map", pairs: pairsMap(":status", "200", "access-control-allow-origin", "*"), wantGo: true, wantPre: true},
		{name: "a vary line goes to Go", pairs: pairsMap("vary", "accept-encoding", ":status", "200"), wantGo: true, wantPre: true},
		{name: "a name that is a prefix's start only is not the stream's", pairs: pairsMap("access-control", "x", "var", "y"), wantAdded: 3},
		{name: "a name that differs from a prefix at its last byte is not the stream's", pairs: pairsMap("access-controlX-a", "x", "varx", "y"), wantAdded: 3},
		{name: "a map whose sizes run past its end goes to Go", pairs: pairsMap(":status", "200")[:14], wantGo: true, wantPre: true},
		{name: "a count past the map's end goes to Go", pairs: []byte{9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}, wantGo: true, wantPre: true},
		{name: "a failed read goes to Go, without the map", pairsStatus: 1, wantGo: true},
		{name: "a refused first line goes to Go, which reports it", pairs: upstream, addStatus: map[int]uint32{0: 5}, wantAdded: 1, wantGo: true, wantFailed: 5, wantLine: 0},
		{name: "a refused later line goes to Go, with its index", pairs: upstream, addStatus: map[int]uint32{2: 6}, wantAdded: 3, wantGo: true, wantFailed: 6, wantLine: 2},
		{name: "a stream that handed nothing over is Go's", notHanding: true, pairs: upstream, wantGo: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstance(t)
			in.setTable(handing)
			mem := in.mod.Memory()
			str := func(at uint32, s string) uint32 { mem.WriteString(at, s); return at }
			// cb.handOff: "access-control-", "vary"
			in.setWord(handOffAt, uint64(str(stringsAt, "access-control-")))
			in.setWord(handOffAt+8, 15)
			in.setWord(handOffAt+16, uint64(str(stringsAt+100, "vary")))
			in.setWord(handOffAt+24, 4)
			in.setWord(stateAt+OffsetHandOff, handOffAt)
			in.setWord(stateAt+OffsetHandOffLen, 2)
			// first: access-control-allow-origin: https://a.example; lines: vary: origin, x-a: 1
			in.setWord(streamAt+OffsetAddName, uint64(str(stringsAt+200, "access-control-allow-origin")))
			in.setWord(streamAt+OffsetAddName+8, 27)
			in.setWord(streamAt+OffsetAddValue, uint64(str(stringsAt+300, "https://a.example")))
			in.setWord(streamAt+OffsetAddValue+8, 17)
			for i, kv := range [][2]string{{"vary", "origin"}, {"x-a", "1"}} {
				at := linesAt + uint32(i)*2*StringSize
				in.setWord(at, uint64(str(stringsAt+400+uint32(i)*100, kv[0])))
				in.setWord(at+8, uint64(len(kv[0])))
				in.setWord(at+16, uint64(str(stringsAt+450+uint32(i)*100, kv[1])))
				in.setWord(at+24, uint64(len(kv[1])))
			}
			in.setWord(streamAt+OffsetLines, linesAt)
			in.setWord(streamAt+OffsetLinesLen, 2)
			mem.WriteUint32Le(countersAt, 41)
			mem.WriteUint32Le(countersAt+4, 42)
			in.setWord(streamAt+OffsetCounters, countersAt)
			in.setWord(streamAt+OffsetCountersLen, 2)
			in.setByte(streamAt+OffsetAddLines, map[bool]byte{false: 1}[tc.notHanding])
			mem.WriteUint32Le(streamAt+OffsetPreSize, 77) // stale: the read clears it
			in.pairs, in.pairsStatus, in.addStatus = tc.pairs, tc.pairsStatus, tc.addStatus

			action := api.DecodeU32(in.call("proxy_on_response_headers", 21, 3, 1)[0])

			goCalls, _ := mem.ReadUint32Le(recordAt + 24)
			wantAction, wantCalls := uint32(0), uint32(0)
			if tc.wantGo {
				wantAction, wantCalls = goResponseAction, 1
			}
			if action != wantAction || goCalls != wantCalls {
				t.Errorf("action %d, Go's response ran %d times; want %d, %d times", action, goCalls, wantAction, wantCalls)
			}
			all := []string{"2 access-control-allow-origin: https://a.example", "2 vary: origin", "2 x-a: 1"}
			if fmt.Sprint(in.added) != fmt.Sprint(all[:tc.wantAdded]) {
				t.Errorf("added %q, want %q", in.added, all[:tc.wantAdded])
			}
			// The counters, once the lines are added (or refused).
			var wantCounted []uint32
			if tc.wantAdded > 0 {
				wantCounted = []uint32{41, 42}
			}
			if fmt.Sprint(in.incremented) != fmt.Sprint(wantCounted) {
				t.Errorf("counters incremented %v, want %v", in.incremented, wantCounted)
			}
			if tc.notHanding {
				if in.gets != 0 {
					t.Errorf("the map read %d times, want none", in.gets)
				}
				return
			}
			preData, _ := mem.ReadUint32Le(streamAt + OffsetPreData)
			preSize, _ := mem.ReadUint32Le(streamAt + OffsetPreSize)
			failed, _ := mem.ReadUint32Le(streamAt + OffsetAddFailed)
			line, _ := mem.ReadUint32Le(streamAt + OffsetAddFailedLine)
			last, _ := mem.ReadUint32Le(stateAt + OffsetLast)
			done := in.byteAt(streamAt+OffsetDone) != 0
			if in.gets != 1 || in.byteAt(streamAt+OffsetAddLines) != 0 || in.word(stateAt+OffsetStream) != 0 {
				t.Errorf("map read %d times, addLines %d, cb.stream %#x; want once, 0, 0", in.gets, in.byteAt(streamAt+OffsetAddLines), in.word(stateAt+OffsetStream))
			}
			if wantDone := tc.wantAdded > 0; done != wantDone || failed != tc.wantFailed || line != tc.wantLine {
				t.Errorf("done %v, addFailed %d, addFailedLine %d; want %v, %d, %d", done, failed, line, wantDone, tc.wantFailed, tc.wantLine)
			}
			switch {
			case tc.wantPre:
				// Go's reads the map the layer read: where the arena put it.
				got, _ := mem.Read(preData, preSize)
				if preData != chunkAt || !bytes.Equal(got, tc.pairs) || last != chunkAt {
					t.Errorf("map left at %d (%d bytes, last allocation %d), want the %d bytes read at %d", preData, preSize, last, len(tc.pairs), chunkAt)
				}
			case preSize != 0:
				t.Errorf("preSize %d, want 0: no map left for Go's", preSize)
			}
			if tc.wantAdded > 0 && last != 0 {
				t.Errorf("cb.last %d after the lines were added, want 0", last)
			}
		})
	}
}
