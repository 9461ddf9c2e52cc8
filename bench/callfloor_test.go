//go:build !wasip1

package bench

import (
	"encoding/binary"
	"sync"
	"testing"

	wabinary "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	"github.com/tetratelabs/wabin/wasm"

	"github.com/corswasm/corswasm/internal/wasmhost"
)

// The call-matched floor (issue 14, item 1), for the allowed preflight
// only so far: a module with no language runtime, assembled here with wabin,
// that exports the proxy-wasm callbacks and whose proxy_on_request_headers
// makes exactly the plugin's host calls for the allowed preflight, with the
// same sizes: the origin read, the request pairs read, the local reply
// with the plugin's status, details, body and headers (serialized once, at
// assembly), and two metric increments. plugin / call-matched floor is
// then what the Go code costs over the host calls it cannot avoid.

// callFloorScenario is the scenario the call-matched floor matches.
const callFloorScenario = "allowed preflight"

var callFloor struct {
	once sync.Once
	wasm []byte
	err  error
}

// callFloorWasm returns the call-matched floor of the allowed preflight,
// assembled from the plugin's local reply to it.
func callFloorWasm(tb testing.TB) []byte {
	tb.Helper()
	s := scenarioNamed(tb, callFloorScenario)
	callFloor.once.Do(func() {
		_, p := startVM(tb, pluginWasm(tb), s.policy())
		x, err := p.Do(s.request, upstream)
		if err != nil {
			callFloor.err = err
			return
		}
		callFloor.wasm = assembleCallFloor(x.LocalReply)
	})
	if callFloor.err != nil {
		tb.Fatal(callFloor.err)
	}
	if callFloor.wasm == nil {
		tb.Fatal("the call-matched floor was not assembled (its first build failed)")
	}
	return callFloor.wasm
}

func scenarioNamed(tb testing.TB, name string) scenario {
	tb.Helper()
	for _, s := range scenarios {
		if s.name == name {
			return s
		}
	}
	tb.Fatalf("no scenario %q", name)
	return scenario{}
}

// The floor's memory: fixed slots, then constant data, then the one
// buffer its allocator hands out for every host reply.
const (
	cfMetric0  = 0  // metric ids, written by proxy_define_metric
	cfMetric1  = 4  //
	cfValPtr   = 8  // the origin's value: pointer, size
	cfValSize  = 12 //
	cfPairsPtr = 16 // the request's pairs: pointer, size
	cfPairSize = 20 //
	cfOrigin   = 64 // "origin"
	cfNames    = 80 // the metric names "m0", "m1"
	cfReply    = 256
	cfHeap     = 1 << 16
	cfPages    = 3
)

// assembleCallFloor builds the module; reply is the plugin's local reply.
func assembleCallFloor(reply *wasmhost.LocalReply) []byte {
	i32, i64 := wasm.ValueTypeI32, wasm.ValueTypeI64
	words := func(n int, results ...wasm.ValueType) *wasm.FunctionType {
		ps := make([]wasm.ValueType, n)
		for i := range ps {
			ps[i] = i32
		}
		return &wasm.FunctionType{Params: ps, Results: results}
	}
	types := []*wasm.FunctionType{
		words(0),      // 0: ()
		words(1, i32), // 1: (i32) i32
		words(2),      // 2: (i32 i32)
		words(2, i32), // 3: (i32 i32) i32
		words(3, i32), // 4: (i32 i32 i32) i32
		words(1),      // 5: (i32)
		words(5, i32), // 6
		words(8, i32), // 7
		{Params: []wasm.ValueType{i32, i64}, Results: []wasm.ValueType{i32}}, // 8
		words(4, i32), // 9
	}
	imports := []struct {
		name string
		typ  wasm.Index
	}{
		{"proxy_get_header_map_value", 6}, // 0
		{"proxy_get_header_map_pairs", 4}, // 1
		{"proxy_send_local_response", 7},  // 2
		{"proxy_increment_metric", 8},     // 3
		{"proxy_define_metric", 9},        // 4
	}
	const (
		getValue = iota
		getPairs
		sendLocal
		incMetric
		defineMetric
	)

	details := []byte(reply.Details)
	body := reply.Body
	var pairs []byte
	pairs = binary.LittleEndian.AppendUint32(pairs, uint32(len(reply.Headers)))
	for _, h := range reply.Headers {
		pairs = binary.LittleEndian.AppendUint32(pairs, uint32(len(h.Name)))
		pairs = binary.LittleEndian.AppendUint32(pairs, uint32(len(h.Value)))
	}
	for _, h := range reply.Headers {
		pairs = append(append(append(append(pairs, h.Name...), 0), h.Value...), 0)
	}
	detailsAt := uint32(cfReply)
	bodyAt := detailsAt + uint32(len(details))
	pairsAt := bodyAt + uint32(len(body))
	reply0 := append(append(append([]byte{}, details...), body...), pairs...)

	c := func(v uint32) []byte { return append([]byte{wasm.OpcodeI32Const}, leb128.EncodeInt32(int32(v))...) }
	call := func(f int) []byte { return append([]byte{wasm.OpcodeCall}, leb128.EncodeUint32(uint32(f))...) }
	load := func(addr uint32) []byte { return append(c(addr), wasm.OpcodeI32Load, 2, 0) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return append(b, wasm.OpcodeEnd)
	}
	drop := []byte{wasm.OpcodeDrop}
	one := append([]byte{wasm.OpcodeI64Const}, leb128.EncodeInt64(1)...)

	funcs := []struct {
		export string
		typ    wasm.Index
		body   []byte
	}{
		{"_initialize", 0, cat()},
		{"proxy_abi_version_0_2_1", 0, cat()},
		// Every host reply goes to the same buffer: the floor reads none.
		{"proxy_on_memory_allocate", 1, cat(c(cfHeap))},
		{"proxy_on_context_create", 2, cat()},
		{"proxy_on_vm_start", 3, cat(c(1))},
		{"proxy_on_configure", 3, cat(
			c(0), c(cfNames), c(2), c(cfMetric0), call(defineMetric), drop,
			c(0), c(cfNames+2), c(2), c(cfMetric1), call(defineMetric), drop,
			c(1))},
		{"proxy_on_request_headers", 4, cat(
			c(0), c(cfOrigin), c(6), c(cfValPtr), c(cfValSize), call(getValue), drop,
			c(0), c(cfPairsPtr), c(cfPairSize), call(getPairs), drop,
			c(uint32(reply.Status)), c(detailsAt), c(uint32(len(details))), c(bodyAt), c(uint32(len(body))),
			c(pairsAt), c(uint32(len(pairs))), c(uint32(reply.GRPCStatus)), call(sendLocal), drop,
			load(cfMetric0), one, call(incMetric), drop,
			load(cfMetric1), one, call(incMetric), drop,
			c(1))}, // StopIteration
		{"proxy_on_response_headers", 4, cat(c(0))},
		{"proxy_on_done", 1, cat(c(1))},
		{"proxy_on_log", 5, cat()},
		{"proxy_on_delete", 5, cat()},
	}

	m := &wasm.Module{
		TypeSection:   types,
		MemorySection: &wasm.Memory{Min: cfPages, Max: cfPages, IsMaxEncoded: true},
		ExportSection: []*wasm.Export{{Type: wasm.ExternTypeMemory, Name: "memory", Index: 0}},
		DataSection: []*wasm.DataSegment{
			{OffsetExpression: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: leb128.EncodeInt32(cfOrigin)}, Init: []byte("origin")},
			{OffsetExpression: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: leb128.EncodeInt32(cfNames)}, Init: []byte("m0m1")},
			{OffsetExpression: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: leb128.EncodeInt32(cfReply)}, Init: reply0},
		},
	}
	for _, im := range imports {
		m.ImportSection = append(m.ImportSection, &wasm.Import{Type: wasm.ExternTypeFunc, Module: "env", Name: im.name, DescFunc: im.typ})
	}
	for i, f := range funcs {
		m.FunctionSection = append(m.FunctionSection, f.typ)
		m.CodeSection = append(m.CodeSection, &wasm.Code{Body: f.body})
		m.ExportSection = append(m.ExportSection, &wasm.Export{Type: wasm.ExternTypeFunc, Name: f.export, Index: wasm.Index(len(imports) + i)})
	}
	return wabinary.EncodeModule(m)
}

// TestCallFloor checks that the call-matched floor makes the plugin's host
// calls for its scenario, and the same local reply.
func TestCallFloor(t *testing.T) {
	s := scenarioNamed(t, callFloorScenario)
	calls := func(wasm []byte) (wasmhost.Calls, *wasmhost.Exchange) {
		vm, p := startVM(t, wasm, s.policy())
		if _, err := p.Do(s.request, upstream); err != nil {
			t.Fatal(err)
		}
		vm.ResetCalls()
		x, err := p.Do(s.request, upstream)
		if err != nil {
			t.Fatal(err)
		}
		if err := vm.Err(); err != nil {
			t.Fatal(err)
		}
		return vm.Calls(), x
	}
	pc, px := calls(pluginWasm(t))
	fc, fx := calls(callFloorWasm(t))
	if pc.String() != fc.String() {
		t.Errorf("host calls:\n  plugin:             %v\n  call-matched floor: %v", pc, fc)
	}
	checkPlugin(t, s, fx)
	if px.LocalReply.Details != fx.LocalReply.Details || string(px.LocalReply.Body) != string(fx.LocalReply.Body) {
		t.Errorf("local reply: plugin %+v, call-matched floor %+v", px.LocalReply, fx.LocalReply)
	}
}
