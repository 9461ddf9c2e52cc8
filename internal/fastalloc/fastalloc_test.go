//go:build !wasip1

package fastalloc

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"

	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// goSlow is what the synthetic module's "Go" allocator returns: slowBase +
// size, so that a test tells its answers from the fast path's.
const slowBase = 1_000_000

// The synthetic module's memory: the state at stateAt, a stream context
// at streamAt whose chunk starts at chunkAt.
const (
	stateAt  = 1024
	streamAt = 4096
	chunkAt  = 8192
)

// synthetic is a module shaped like the plugin where it matters here: an
// exported proxy_on_memory_allocate (function 0, standing for Go's) and a
// data segment holding the marker markers times.
func synthetic(markers int, sig []wasm.ValueType) []byte {
	i32 := wasm.ValueTypeI32
	var data []byte
	for range markers {
		var m [16]byte
		binary.LittleEndian.PutUint64(m[:8], Marker[0])
		binary.LittleEndian.PutUint64(m[8:], Marker[1])
		data = append(data, m[:]...)
		data = append(data, make([]byte, 48)...)
	}
	m := &wasm.Module{
		TypeSection:     []*wasm.FunctionType{{Params: sig, Results: []wasm.ValueType{i32}}},
		FunctionSection: []wasm.Index{0},
		CodeSection: []*wasm.Code{{Body: []byte{
			wasm.OpcodeLocalGet, 0, wasm.OpcodeI32Const, 0xC0, 0x84, 0x3D, wasm.OpcodeI32Add, wasm.OpcodeEnd, // + 1,000,000
		}}},
		MemorySection: &wasm.Memory{Min: 1, Max: 1},
		ExportSection: []*wasm.Export{
			{Name: Export, Type: wasm.ExternTypeFunc, Index: 0},
			{Name: "memory", Type: wasm.ExternTypeMemory, Index: 0},
		},
		DataSection: []*wasm.DataSegment{{
			OffsetExpression: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: []byte{0x80, 0x08}}, // 1024
			Init:             data,
		}},
		NameSection: &wasm.NameSection{FunctionNames: wasm.NameMap{{Index: 0, Name: "abi.allocate"}}},
	}
	return wabin.EncodeModule(m)
}

var i32Param = []wasm.ValueType{wasm.ValueTypeI32}

func TestTheFastPathTakesFromTheStreamsChunkAndLeavesTheRestToGo(t *testing.T) {
	ctx := context.Background()
	out, r, err := Rewrite(synthetic(1, i32Param))
	if err != nil {
		t.Fatal(err)
	}
	if r.State != stateAt || r.Function != 1 {
		t.Fatalf("report %+v, want the state at %d and function 1", r, stateAt)
	}
	again, r2, err := Rewrite(out)
	if err != nil || !r2.Done || !bytes.Equal(again, out) {
		t.Fatalf("rewriting the rewritten module: %+v, %v; want it as it is", r2, err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	mem := mod.Memory()
	alloc := mod.ExportedFunction(Export)
	call := func(size uint32) uint32 {
		t.Helper()
		res, err := alloc.Call(ctx, uint64(size))
		if err != nil {
			t.Fatal(err)
		}
		return api.DecodeU32(res[0])
	}
	word := func(at uint32) uint64 {
		v, _ := mem.ReadUint64Le(at)
		return v
	}
	setWord := func(at uint32, v uint64) { mem.WriteUint64Le(at, v) }

	// No stream: Go's.
	if got := call(4); got != slowBase+4 {
		t.Errorf("outside a stream's callback: %d, want Go's %d", got, slowBase+4)
	}
	setWord(stateAt+OffsetStream, streamAt)
	setWord(streamAt+OffsetChunk, chunkAt)
	setWord(streamAt+OffsetChunkLen, 100)
	setWord(streamAt+OffsetUsed, 10)
	for _, step := range []struct {
		size, want uint32
		used       uint64
	}{
		{5, chunkAt + 10, 15},
		{85, chunkAt + 15, 100}, // exactly what is left
		{1, slowBase + 1, 100},  // full: Go's
		{0, slowBase, 100},      // size 0: Go's
	} {
		got := call(step.size)
		if got != step.want || word(streamAt+OffsetUsed) != step.used {
			t.Errorf("allocate(%d) = %d, used %d; want %d, used %d", step.size, got, word(streamAt+OffsetUsed), step.want, step.used)
		}
		if step.want < slowBase {
			last, _ := mem.ReadUint32Le(stateAt + OffsetLast)
			size, _ := mem.ReadUint32Le(stateAt + OffsetLastSize)
			if last != step.want || size != step.size {
				t.Errorf("allocate(%d) noted %d (size %d), want %d", step.size, last, size, step.want)
			}
		}
	}
	// No chunk: Go's.
	setWord(streamAt+OffsetChunk, 0)
	setWord(streamAt+OffsetChunkLen, 0)
	setWord(streamAt+OffsetUsed, 0)
	if got := call(8); got != slowBase+8 {
		t.Errorf("a stream without a chunk: %d, want Go's", got)
	}
}

func TestRewriteLeavesOtherModulesAlone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		module []byte
	}{
		{"no marker", synthetic(0, i32Param)},
		{"no export", func() []byte {
			m, _ := wabin.DecodeModule(synthetic(1, i32Param), wasm.CoreFeaturesV2)
			m.ExportSection = m.ExportSection[1:]
			return wabin.EncodeModule(m)
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, r, err := Rewrite(tc.module)
			if err != nil || r.State != 0 || !bytes.Equal(out, tc.module) {
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
		{name: "the marker twice", in: synthetic(2, i32Param), want: "the allocator's marker is in the module's data 2 times"},
		{name: "an export of another signature", in: synthetic(1, []wasm.ValueType{wasm.ValueTypeI32, wasm.ValueTypeI32}), want: "does not have the signature (i32) -> i32"},
		{name: "not a module", in: []byte("\x00asm\x02"), want: "decoding the module"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Rewrite(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
