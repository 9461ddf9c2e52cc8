//go:build !wasip1

package wasmhost

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	wabinary "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	"github.com/tetratelabs/wabin/wasm"
)

// The tests in this file run small modules assembled here.

type (
	wasmImport struct {
		module, name    string
		params, results []wasm.ValueType
	}
	wasmFunc struct {
		export          string // "" for none
		params, results []wasm.ValueType
		body            []byte // without the final end
	}
	testModule struct {
		imports []wasmImport
		funcs   []wasmFunc
		data    map[uint32]string
	}
)

var (
	vI32 = wasm.ValueTypeI32
	vI64 = wasm.ValueTypeI64
)

func i32s(n int) []wasm.ValueType {
	ts := make([]wasm.ValueType, n)
	for i := range ts {
		ts[i] = vI32
	}
	return ts
}

// Instructions.
func i32c(v int32) []byte  { return append([]byte{wasm.OpcodeI32Const}, leb128.EncodeInt32(v)...) }
func call(f uint32) []byte { return append([]byte{wasm.OpcodeCall}, leb128.EncodeUint32(f)...) }
func local(i uint32) []byte {
	return append([]byte{wasm.OpcodeLocalGet}, leb128.EncodeUint32(i)...)
}

var (
	drop        = []byte{wasm.OpcodeDrop}
	unreachable = []byte{wasm.OpcodeUnreachable}
	i32Load     = []byte{wasm.OpcodeI32Load, 2, 0}
	i32Store    = []byte{wasm.OpcodeI32Store, 2, 0}
	i32Add      = []byte{wasm.OpcodeI32Add}
	i32Shl      = []byte{wasm.OpcodeI32Shl}
)

func code(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// The allocator of the test modules counts its calls at address 300 and
// hands out 256-byte blocks from 1024 on.
const allocCount = 300

var allocBody = code(
	i32c(allocCount), i32c(allocCount), i32Load, i32c(1), i32Add, i32Store,
	i32c(allocCount), i32Load, i32c(8), i32Shl, i32c(1024), i32Add,
)

// reactor returns the exports every test module needs; extra functions
// come after them.
func reactor(extra ...wasmFunc) []wasmFunc {
	return append([]wasmFunc{
		{export: "_initialize"},
		{export: "proxy_abi_version_0_2_1"},
		{export: "proxy_on_memory_allocate", params: i32s(1), results: i32s(1), body: allocBody},
	}, extra...)
}

// encode assembles the module; the functions follow the imports in the
// function index space, and memory (one page) is exported as "memory".
func (m testModule) encode() []byte {
	mod := &wasm.Module{MemorySection: &wasm.Memory{Min: 1}}
	for _, imp := range m.imports {
		mod.TypeSection = append(mod.TypeSection, &wasm.FunctionType{Params: imp.params, Results: imp.results})
		mod.ImportSection = append(mod.ImportSection, &wasm.Import{
			Type: wasm.ExternTypeFunc, Module: imp.module, Name: imp.name, DescFunc: uint32(len(mod.TypeSection) - 1),
		})
	}
	for i, f := range m.funcs {
		mod.TypeSection = append(mod.TypeSection, &wasm.FunctionType{Params: f.params, Results: f.results})
		mod.FunctionSection = append(mod.FunctionSection, uint32(len(mod.TypeSection)-1))
		mod.CodeSection = append(mod.CodeSection, &wasm.Code{Body: append(append([]byte{}, f.body...), wasm.OpcodeEnd)})
		if f.export != "" {
			mod.ExportSection = append(mod.ExportSection, &wasm.Export{Type: wasm.ExternTypeFunc, Name: f.export, Index: uint32(len(m.imports) + i)})
		}
	}
	mod.ExportSection = append(mod.ExportSection, &wasm.Export{Type: wasm.ExternTypeMemory, Name: "memory"})
	for addr, s := range m.data {
		mod.DataSection = append(mod.DataSection, &wasm.DataSegment{
			OffsetExpression: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: leb128.EncodeInt32(int32(addr))},
			Init:             []byte(s),
		})
	}
	return wabinary.EncodeModule(mod)
}

var (
	importDefineMetric = wasmImport{"env", "proxy_define_metric", i32s(4), i32s(1)}
	importBufferBytes  = wasmImport{"env", "proxy_get_buffer_bytes", i32s(5), i32s(1)}
	importHeaderValue  = wasmImport{"env", "proxy_get_header_map_value", i32s(5), i32s(1)}
	importLog          = wasmImport{"env", "proxy_log", i32s(3), i32s(1)}
)

// memory returns n bytes of the VM's memory at addr.
func memory(t *testing.T, vm *VM, addr, n uint32) []byte {
	t.Helper()
	b, ok := vm.mod.Memory().Read(addr, n)
	if !ok {
		t.Fatalf("reading %d bytes at %d", n, addr)
	}
	return b
}

func word(t *testing.T, vm *VM, addr uint32) uint32 {
	return binary.LittleEndian.Uint32(memory(t, vm, addr, 4))
}

func TestRestrictedInitialize(t *testing.T) {
	// _initialize defines a metric: Envoy forbids it there.
	m := testModule{
		imports: []wasmImport{importDefineMetric},
		funcs:   reactor(),
	}
	m.funcs[0].body = code(i32c(0), i32c(0), i32c(0), i32c(16), call(0), drop)
	_, err := New(context.Background(), m.encode(), Options{})
	if err == nil {
		t.Fatal("a module calling proxy_define_metric from _initialize was loaded")
	}
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "restricted_callback: proxy_define_metric called while _initialize runs") {
		t.Errorf("error %q, want a restricted_callback failure naming proxy_define_metric", err)
	}
	t.Log(err)

	// proxy_log is allowed there.
	m = testModule{imports: []wasmImport{importLog}, funcs: reactor(), data: map[uint32]string{100: "hello"}}
	m.funcs[0].body = code(i32c(2), i32c(100), i32c(5), call(0), drop)
	vm := newVM(t, m.encode(), Options{})
	if logs := vm.Logs(); len(logs) != 1 || logs[0].String() != "info: hello" {
		t.Errorf("logs %v, want [info: hello]", logs)
	}
}

func TestRestrictedAllocator(t *testing.T) {
	// The allocator defines a metric; proxy_on_configure reads the plugin
	// configuration, which makes the host call the allocator.
	m := testModule{
		imports: []wasmImport{importBufferBytes, importDefineMetric},
		funcs: reactor(
			wasmFunc{export: "proxy_on_configure", params: i32s(2), results: i32s(1),
				body: code(i32c(bufferPluginConfiguration), i32c(0), local(1), i32c(200), i32c(204), call(0), drop, i32c(1))},
		),
	}
	m.funcs[2].body = code(i32c(0), i32c(0), i32c(0), i32c(16), call(1), drop, allocBody)
	vm := newVM(t, m.encode(), Options{})
	_, err := vm.StartPlugin([]byte("{}"))
	want := "restricted_callback: proxy_define_metric called while the allocator (proxy_on_memory_allocate) runs"
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrFailed) {
		t.Fatalf("StartPlugin: %v, want a failure containing %q", err, want)
	}
	if !errors.Is(vm.Err(), ErrFailed) {
		t.Errorf("Err() = %v after a restricted call", vm.Err())
	}
	// Every later call returns the failure.
	if _, err := vm.StartPlugin(nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("StartPlugin on the failed VM: %v", err)
	}
}

func TestTrapFailsVM(t *testing.T) {
	m := testModule{funcs: reactor(
		wasmFunc{export: "proxy_on_request_headers", params: i32s(3), results: i32s(1), body: code(unreachable, i32c(0))},
	)}
	vm := newVM(t, m.encode(), Options{})
	p, err := vm.StartPlugin(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := p.NewStream()
	_, err = s.RequestHeaders(noOrigin, true)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "proxy_on_request_headers trapped") {
		t.Fatalf("RequestHeaders: %v, want a trap failure", err)
	}
	t.Log(err)
	if err := s.Close(); !errors.Is(err, ErrFailed) {
		t.Errorf("Close after the trap: %v, want the failure", err)
	}
	if _, err := p.Do(noOrigin, upstream); !errors.Is(err, ErrFailed) {
		t.Errorf("Do after the trap: %v, want the failure", err)
	}
}

// TestHeaderMapValue checks proxy_get_header_map_value against Envoy's
// behaviour: the first of several values, an empty value is a value (no
// allocation), a missing header is NotFound, keys are lower-cased, and the
// response map is not available while the request headers are processed.
func TestHeaderMapValue(t *testing.T) {
	type query struct {
		mapType     int32
		key         uint32 // address of the key
		keyLen      int32
		slots, stat int32 // result slots (address, size) and status
	}
	queries := []query{
		{mapRequestHeaders, 100, 7, 200, 208},  // x-multi
		{mapRequestHeaders, 110, 7, 212, 220},  // x-empty
		{mapRequestHeaders, 120, 6, 224, 232},  // x-none
		{mapRequestHeaders, 130, 7, 236, 244},  // X-Multi
		{mapResponseHeaders, 100, 7, 248, 256}, // x-multi, in the wrong phase
		{9, 100, 7, 260, 268},                  // a map type that does not exist
	}
	var body []byte
	for _, q := range queries {
		body = code(body, i32c(q.stat), i32c(q.mapType), i32c(int32(q.key)), i32c(q.keyLen), i32c(q.slots), i32c(q.slots+4), call(0), i32Store)
	}
	m := testModule{
		imports: []wasmImport{importHeaderValue},
		funcs: reactor(wasmFunc{export: "proxy_on_request_headers", params: i32s(3), results: i32s(1),
			body: code(body, i32c(0))}),
		data: map[uint32]string{100: "x-multi", 110: "x-empty", 120: "x-none", 130: "X-Multi"},
	}
	vm := newVM(t, m.encode(), Options{})
	p, err := vm.StartPlugin(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHeaders(":method", "GET", "x-multi", "first", "X-Multi", "second", "x-empty", "")
	if _, err := p.Do(h, nil); err != nil {
		t.Fatal(err)
	}
	value := func(q query) (status uint32, v string, addr uint32) {
		addr, size := word(t, vm, uint32(q.slots)), word(t, vm, uint32(q.slots+4))
		if size > 0 {
			v = string(memory(t, vm, addr, size))
		}
		return word(t, vm, uint32(q.stat)), v, addr
	}
	for i, want := range []struct {
		status uint32
		value  string
	}{{statusOK, "first"}, {statusOK, ""}, {statusNotFound, ""}, {statusOK, "first"}, {statusBadArgument, ""}, {statusBadArgument, ""}} {
		st, v, addr := value(queries[i])
		if st != want.status || v != want.value {
			t.Errorf("query %d: status %d value %q, want %d %q", i, st, v, want.status, want.value)
		}
		if want.status == statusOK && want.value == "" && addr != 0 {
			t.Errorf("query %d: an empty value was returned at address %d, want 0", i, addr)
		}
	}
	if n := word(t, vm, allocCount); n != 2 {
		t.Errorf("the allocator ran %d times, want 2 (never for an empty value)", n)
	}
}

// TestModuleRefused checks what New refuses, and that the error says why.
func TestModuleRefused(t *testing.T) {
	withExport := func(name string, params, results []wasm.ValueType) testModule {
		return testModule{funcs: reactor(wasmFunc{export: name, params: params, results: results, body: code(func() []byte {
			if len(results) > 0 {
				return i32c(0)
			}
			return nil
		}())})}
	}
	noInit := testModule{funcs: reactor()}
	noInit.funcs[0].export = ""
	noMarker := testModule{funcs: reactor()}
	noMarker.funcs[1].export = ""
	noAlloc := testModule{funcs: reactor()}
	noAlloc.funcs[2].export = ""
	fileImports := testModule{
		imports: []wasmImport{
			{wasiModule, "fd_close", i32s(1), i32s(1)},
			{wasiModule, "fd_filestat_set_size", []wasm.ValueType{vI32, vI64}, i32s(1)},
		},
		funcs: reactor(),
	}
	yield := testModule{imports: []wasmImport{{wasiModule, "sched_yield", nil, i32s(1)}}, funcs: reactor()}
	cases := []struct {
		name    string
		module  testModule
		profile Profile
		want    []string
		notWant string
	}{
		{"a command", withExport("_start", nil, nil), Envoy139, []string{"exports _start"}, ""},
		{"no _initialize", noInit, Envoy139, []string{"exports no _initialize"}, ""},
		{"no ABI marker", noMarker, Envoy139, []string{"Missing or unknown Proxy-Wasm ABI version"}, ""},
		{"no allocator", noAlloc, Envoy139, []string{"missing malloc function"}, ""},
		{"bad callback signature", withExport("proxy_on_done", i32s(1), nil), Envoy139,
			[]string{"proxy_on_done has the signature (i32) -> (), the host calls it as (i32) -> (i32)"}, ""},
		{"unknown host function", testModule{imports: []wasmImport{{"env", "proxy_http_call", i32s(10), i32s(1)}}, funcs: reactor()}, Envoy139,
			[]string{"env.proxy_http_call"}, ""},
		{"wrong import signature", testModule{imports: []wasmImport{{"env", "proxy_log", i32s(2), i32s(1)}}, funcs: reactor()}, Envoy139,
			[]string{"import env.proxy_log has the signature (i32, i32) -> (i32), the host provides (i32, i32, i32) -> (i32)"}, ""},
		// Envoy 1.38 fails on fd_filestat_set_size; it provides fd_close.
		{"file functions on 1.33-1.38", fileImports, Envoy133to138,
			[]string{"Envoy 1.33-1.38 host does not provide: wasi_snapshot_preview1.fd_filestat_set_size"}, "fd_close"},
		{"sched_yield on 1.32", yield, Envoy132, []string{"wasi_snapshot_preview1.sched_yield"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(context.Background(), c.module.encode(), Options{Profile: c.profile})
			if err == nil {
				t.Fatal("module loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if c.notWant != "" && strings.Contains(err.Error(), c.notWant) {
				t.Errorf("error names %s:\n%v", c.notWant, err)
			}
			t.Log(err)
		})
	}
	// The module with file imports loads where they are all provided.
	newVM(t, fileImports.encode(), Options{Profile: Envoy139})
	newVM(t, yield.encode(), Options{Profile: Envoy133to138})
}

// TestPollOneoffENOSYS checks Envoy 1.33-1.38's poll_oneoff stub.
func TestPollOneoffENOSYS(t *testing.T) {
	m := testModule{
		imports: []wasmImport{{wasiModule, "poll_oneoff", i32s(4), i32s(1)}},
		funcs: reactor(wasmFunc{export: "proxy_on_vm_start", params: i32s(2), results: i32s(1),
			body: code(i32c(400), i32c(0), i32c(0), i32c(0), i32c(0), call(0), i32Store, i32c(1))}),
	}
	vm := newVM(t, m.encode(), Options{Profile: Envoy133to138})
	if _, err := vm.StartPlugin(nil); err != nil {
		t.Fatal(err)
	}
	if errno := word(t, vm, 400); errno != 52 {
		t.Errorf("poll_oneoff returned %d, want ENOSYS (52)", errno)
	}
	if n := vm.Calls().Other["wasi_snapshot_preview1.poll_oneoff"]; n != 1 {
		t.Errorf("poll_oneoff counted %d times, want 1", n)
	}
}

// TestHeaderMutations checks add, replace and remove on the response map.
func TestHeaderMutations(t *testing.T) {
	m := testModule{
		imports: []wasmImport{
			{"env", "proxy_add_header_map_value", i32s(5), i32s(1)},
			{"env", "proxy_replace_header_map_value", i32s(5), i32s(1)},
			{"env", "proxy_remove_header_map_value", i32s(3), i32s(1)},
		},
		funcs: reactor(wasmFunc{export: "proxy_on_response_headers", params: i32s(3), results: i32s(1), body: code(
			// add X-A: 1 (the host lower-cases the name), replace vary, remove content-type
			i32c(mapResponseHeaders), i32c(100), i32c(3), i32c(110), i32c(1), call(0), drop,
			i32c(mapResponseHeaders), i32c(120), i32c(4), i32c(130), i32c(6), call(1), drop,
			i32c(mapResponseHeaders), i32c(140), i32c(12), call(2), drop,
			i32c(0),
		)}),
		data: map[uint32]string{100: "X-A", 110: "1", 120: "vary", 130: "origin", 140: "content-type"},
	}
	vm := newVM(t, m.encode(), Options{})
	p, err := vm.StartPlugin(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := NewHeaders(":status", "200", "vary", "accept-encoding", "content-type", "text/plain", "x-a", "0", "vary", "accept-language", "content-type", "x")
	x, err := p.Do(noOrigin, resp)
	if err != nil {
		t.Fatal(err)
	}
	want := NewHeaders(":status", "200", "vary", "origin", "x-a", "0", "x-a", "1")
	if !slices.Equal(x.Response, want) {
		t.Errorf("response headers %v, want %v", x.Response, want)
	}
}
