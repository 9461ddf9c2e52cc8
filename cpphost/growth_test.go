//go:build !wasip1

package cpphost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// TestMemoryGrownInAHostCall holds what abi's afterHostReply works around:
// on the WAMR of the Envoy 1.29-1.32 era, memory that proxy_on_memory_allocate
// grew while the host was calling it is out of bounds for memory.copy in
// the callback that made the host call, until that callback runs a
// memory.grow of its own (0 pages will do). Go's allocator grows the memory
// in allocate when the host's reply needs a new arena chunk, and
// runtime.memmove is memory.copy: a denial's log line copying the origin
// out of the reply trapped there (cpphost's report tests, before the fix).
//
// A module of a few instructions shows it: its allocate grows the memory
// by a page and hands it over, and its proxy_on_request_headers reads the
// origin there, copies it with memory.copy and logs the copy. The control,
// without the memory.grow of 0 pages, must trap on that era only; with it,
// every era must log the origin.
func TestMemoryGrownInAHostCall(t *testing.T) {
	forEachHost(t, func(t *testing.T, h host) {
		for _, refresh := range []bool{false, true} {
			file := filepath.Join(t.TempDir(), "grow.wasm")
			if err := os.WriteFile(file, growthModule(t, refresh), 0o644); err != nil {
				t.Fatal(err)
			}
			config := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(config, []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := pwhost(t, h, file, config, []exchange{{Name: "grown", Request: headers{{":method", "GET"}, {"origin", "https://grown.example"}}}})
			logged := strings.Contains(r.stderr, "https://grown.example")
			trapped := r.code == 2 && strings.Contains(r.stderr, "out of bounds memory access")
			switch {
			case refresh && (r.code != 0 || !logged):
				t.Errorf("with memory.grow 0 after the host call: exit %d, origin logged %v, want 0 and logged\n%s", r.code, logged, r.tail())
			case !refresh && h.name == "envoy-1.32" && !trapped:
				t.Errorf("control, without memory.grow 0: exit %d, want a trap (out of bounds memory access): the module no longer shows the engine's fault\n%s", r.code, r.tail())
			case !refresh && h.name != "envoy-1.32" && (r.code != 0 || !logged):
				t.Errorf("control, without memory.grow 0: exit %d, origin logged %v, want 0 and logged on this era\n%s", r.code, logged, r.tail())
			}
		}
	})
}

// growthModule assembles TestMemoryGrownInAHostCall's module; refresh puts
// a memory.grow of 0 pages between the host call and the copy.
func growthModule(t *testing.T, refresh bool) []byte {
	t.Helper()
	const (
		i32       = wasm.ValueTypeI32
		keyAt     = 16 // "origin"
		dataAt    = 32 // the reply's address
		sizeAt    = 36 // and size
		logLevel  = 2  // info
		end       = wasm.OpcodeEnd
		i32Const  = wasm.OpcodeI32Const
		i32Load   = wasm.OpcodeI32Load
		localGet  = wasm.OpcodeLocalGet
		callOp    = wasm.OpcodeCall
		dropOp    = wasm.OpcodeDrop
		growOp    = wasm.OpcodeMemoryGrow
		copyOp    = wasm.OpcodeMiscPrefix
		copyIndex = 0x0a // memory.copy
	)
	load := func(addr byte) []byte { return []byte{i32Const, addr, i32Load, 2, 0} }
	var request []byte
	request = append(request, i32Const, 0, i32Const, keyAt, i32Const, 6, i32Const, dataAt, i32Const, sizeAt, callOp, 1, dropOp)
	if refresh {
		request = append(request, i32Const, 0, growOp, 0, dropOp)
	}
	request = append(request, i32Const, 0x80, 0x02) // 256
	request = append(request, load(dataAt)...)
	request = append(request, load(sizeAt)...)
	request = append(request, copyOp, copyIndex, 0, 0)
	request = append(request, i32Const, logLevel, i32Const, 0x80, 0x02)
	request = append(request, load(sizeAt)...)
	request = append(request, callOp, 0, dropOp, i32Const, 0, end)

	types := []*wasm.FunctionType{
		{Params: []wasm.ValueType{i32, i32, i32}, Results: []wasm.ValueType{i32}},           // 0 proxy_log, proxy_on_request_headers
		{Params: []wasm.ValueType{i32, i32, i32, i32, i32}, Results: []wasm.ValueType{i32}}, // 1 proxy_get_header_map_value
		{}, // 2 () -> ()
		{Params: []wasm.ValueType{i32}, Results: []wasm.ValueType{i32}},      // 3 allocate
		{Params: []wasm.ValueType{i32, i32}},                                 // 4 context create
		{Params: []wasm.ValueType{i32, i32}, Results: []wasm.ValueType{i32}}, // 5 vm start, configure
	}
	funcs := []struct {
		name string
		typ  wasm.Index
		body []byte
	}{
		{"_initialize", 2, []byte{end}},
		{"proxy_abi_version_0_2_1", 2, []byte{end}},
		// A page more, handed over whole: (memory.grow 1) * 65536.
		{"proxy_on_memory_allocate", 3, []byte{i32Const, 1, growOp, 0, i32Const, 16, wasm.OpcodeI32Shl, end}},
		{"proxy_on_context_create", 4, []byte{end}},
		{"proxy_on_vm_start", 5, []byte{i32Const, 1, end}},
		{"proxy_on_configure", 5, []byte{i32Const, 1, end}},
		{"proxy_on_request_headers", 0, request},
	}
	m := &wasm.Module{
		TypeSection: types,
		ImportSection: []*wasm.Import{
			{Module: "env", Name: "proxy_log", Type: wasm.ExternTypeFunc, DescFunc: 0},
			{Module: "env", Name: "proxy_get_header_map_value", Type: wasm.ExternTypeFunc, DescFunc: 1},
		},
		MemorySection: &wasm.Memory{Min: 2, Max: 100, IsMaxEncoded: true},
		DataSection:   []*wasm.DataSegment{{OffsetExpression: &wasm.ConstantExpression{Opcode: i32Const, Data: []byte{keyAt}}, Init: []byte("origin")}},
		ExportSection: []*wasm.Export{{Name: "memory", Type: wasm.ExternTypeMemory, Index: 0}},
	}
	for i, f := range funcs {
		m.FunctionSection = append(m.FunctionSection, f.typ)
		m.CodeSection = append(m.CodeSection, &wasm.Code{Body: f.body})
		m.ExportSection = append(m.ExportSection, &wasm.Export{Name: f.name, Type: wasm.ExternTypeFunc, Index: wasm.Index(2 + i)})
	}
	return binary.EncodeModule(m)
}
