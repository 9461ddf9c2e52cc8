//go:build !wasip1

package bench

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	wabinary "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	"github.com/tetratelabs/wabin/wasm"

	"github.com/corswasm/corswasm/internal/proxyabi"
	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

// The call-matched floors (issue 14, item 1): for each scenario, a module
// with no language runtime, assembled here with wabin from a recording of
// the plugin's warm exchange (wasmhost's trace). It exports the callbacks
// the plugin exports, so that the host enters the module as often, and
// each callback makes exactly the host calls the plugin made from it, in
// order, with the same values and bytes (constants in a data segment), then
// returns what the plugin returned. plugin / call-matched floor is then
// what the plugin's Go code costs over the host calls it makes.
//
// Nothing here knows a scenario's host calls: when the plugin changes the
// calls it makes, the floors change with it.

// callFloor is one scenario's call-matched floor and the plugin's exchange
// it was built from.
type callFloor struct {
	wasm  []byte
	trace []wasmhost.TracedCall
	x     *wasmhost.Exchange
}

// callFloors holds each scenario's floor, built on first use: scenario
// name -> func() (callFloor, error).
var callFloors sync.Map

// callFloorOf returns the call-matched floor of scenario s.
func callFloorOf(tb testing.TB, s scenario) callFloor {
	tb.Helper()
	plugin := pluginWasm(tb)
	f, _ := callFloors.LoadOrStore(s.name, sync.OnceValues(func() (callFloor, error) {
		vm, err := wasmhost.New(context.Background(), plugin, wasmhost.Options{Cache: testmodule.Cache(), LogLevel: wasmhost.LogInfo})
		if err != nil {
			return callFloor{}, err
		}
		defer vm.Close(context.Background())
		p, err := vm.StartPlugin([]byte(s.policy()))
		if err != nil {
			return callFloor{}, err
		}
		trace, x, err := recordExchange(vm, p, s)
		if err != nil {
			return callFloor{}, fmt.Errorf("%s: recording the plugin: %w", s.name, err)
		}
		code, err := assembleCallFloor(plugin, trace)
		if err != nil {
			return callFloor{}, fmt.Errorf("%s: %w", s.name, err)
		}
		return callFloor{code, trace, x}, nil
	}))
	cf, err := f.(func() (callFloor, error))()
	if err != nil {
		tb.Fatal(err)
	}
	return cf
}

// callFloorWarmup is how many exchanges run before one is recorded, so
// that first-request work is not recorded.
const callFloorWarmup = 20

// recordExchange runs s through p callFloorWarmup times, then once more
// with a trace, and returns the trace and the exchange.
func recordExchange(vm *wasmhost.VM, p *wasmhost.Plugin, s scenario) ([]wasmhost.TracedCall, *wasmhost.Exchange, error) {
	for range callFloorWarmup {
		if _, err := p.Do(s.request, upstream); err != nil {
			return nil, nil, err
		}
	}
	var trace []wasmhost.TracedCall
	vm.SetTrace(func(c wasmhost.TracedCall) { trace = append(trace, c) })
	x, err := p.Do(s.request, upstream)
	vm.SetTrace(nil)
	if err == nil {
		err = vm.Err()
	}
	return trace, x, err
}

// The floor's memory: result slots, metric ID slots, the constant data,
// then the one buffer its allocator hands out for every host reply (the
// floor reads none of them).
const (
	cfSlots      = 16        // result slot i of a call is at cfSlots + 8*i
	cfMaxSlots   = 16        //
	cfMetrics    = 256       // metric k's ID is at cfMetrics + 4*k
	cfMaxMetrics = 64        //
	cfData       = 1024      // constant data
	cfHeapSize   = 64 * 1024 // the allocator's buffer
)

// metricCalls are the host calls whose first parameter is a metric ID.
var metricCalls = map[string]bool{
	"proxy_increment_metric": true,
	"proxy_record_metric":    true,
	"proxy_get_metric":       true,
}

// defaultResults are what a callback the recording did not see return
// returns: true for the lifecycle callbacks, else 0 (Continue).
var defaultResults = map[string]uint64{
	"proxy_on_vm_start":  1,
	"proxy_on_configure": 1,
	"proxy_on_done":      1,
}

// allocators are the exports the host may allocate through.
var allocators = []string{"malloc", "proxy_on_memory_allocate"}

// pluginExports returns the plugin's function exports and their types.
func pluginExports(plugin []byte) (map[string]*wasm.FunctionType, error) {
	m, err := wabinary.DecodeModule(plugin, wasm.CoreFeaturesV2)
	if err != nil {
		return nil, fmt.Errorf("decoding the plugin: %w", err)
	}
	var funcTypes []wasm.Index
	for _, imp := range m.ImportSection {
		if imp.Type == wasm.ExternTypeFunc {
			funcTypes = append(funcTypes, imp.DescFunc)
		}
	}
	funcTypes = append(funcTypes, m.FunctionSection...)
	out := map[string]*wasm.FunctionType{}
	for _, e := range m.ExportSection {
		if e.Type == wasm.ExternTypeFunc {
			out[e.Name] = m.TypeSection[funcTypes[e.Index]]
		}
	}
	return out, nil
}

// floorExport says whether the floor exports a function the plugin
// exports: the callbacks, the allocator, _initialize and the ABI marker.
func floorExport(name string) bool {
	_, callback := proxyabi.Callbacks[name]
	return callback || slices.Contains([]string{proxyabi.ABI021, proxyabi.ABI020, proxyabi.ABI010}, name)
}

// assembleCallFloor builds the call-matched floor of a recorded exchange
// of the plugin.
func assembleCallFloor(plugin []byte, trace []wasmhost.TracedCall) ([]byte, error) {
	exports, err := pluginExports(plugin)
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range exports {
		if floorExport(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)

	// What each callback does in the recording: its host calls, then its
	// return.
	calls := map[string][]wasmhost.TracedCall{}
	results := map[string]uint64{}
	var metricIDs []uint64 // in order of first use
	for _, c := range trace {
		if _, ok := exports[c.Callback]; !ok || slices.Contains(allocators, c.Callback) || c.Callback == "_initialize" {
			return nil, fmt.Errorf("the plugin made a host call from %s, which the floor cannot repeat: %v", c.Callback, c)
		}
		if c.Return {
			if _, twice := results[c.Callback]; twice {
				return nil, fmt.Errorf("%s ran twice in the exchange; the floor cannot tell the runs apart", c.Callback)
			}
			results[c.Callback] = c.Result
			continue
		}
		if _, ok := results[c.Callback]; ok {
			return nil, fmt.Errorf("%s ran twice in the exchange; the floor cannot tell the runs apart", c.Callback)
		}
		if _, ok := proxyabi.HostFunctions[c.Name]; !ok {
			return nil, fmt.Errorf("unknown host call %v", c)
		}
		calls[c.Callback] = append(calls[c.Callback], c)
		if metricCalls[c.Name] && !slices.Contains(metricIDs, c.Args[0].Value) {
			metricIDs = append(metricIDs, c.Args[0].Value)
		}
	}
	if len(metricIDs) > cfMaxMetrics {
		return nil, fmt.Errorf("%d metrics; the floor has room for %d", len(metricIDs), cfMaxMetrics)
	}

	a := &floorAssembler{types: map[string]wasm.Index{}, imports: map[string]wasm.Index{}}
	if len(metricIDs) > 0 {
		a.importFunc("proxy_define_metric")
	}
	for _, c := range trace {
		if !c.Return {
			a.importFunc(c.Name)
		}
	}
	for _, name := range names {
		var body []byte
		switch {
		case slices.Contains(allocators, name):
			body = i32Const(0) // patched below, once the data's size is known
		case name == "proxy_on_configure":
			for k, id := range metricIDs {
				body = a.call(body, "proxy_define_metric",
					i32Const(uint32(id&3)), a.bytes([]byte(fmt.Sprintf("m%d", k))), i32Const(uint32(cfMetrics+4*k)))
			}
		}
		for _, c := range calls[name] {
			body, err = a.hostCall(body, c, metricIDs)
			if err != nil {
				return nil, err
			}
		}
		typ := exports[name]
		if len(typ.Results) > 0 && !slices.Contains(allocators, name) {
			r, ok := results[name]
			if !ok {
				r = defaultResults[name]
			}
			body = append(body, i32Const(uint32(r))...)
		}
		a.funcs = append(a.funcs, floorFunc{name, a.typeOf(typ), body})
	}

	heap := (cfData + uint32(len(a.data)) + 0xffff) &^ 0xffff
	for i, f := range a.funcs {
		if slices.Contains(allocators, f.export) {
			a.funcs[i].body = i32Const(heap)
		}
	}
	pages := (heap + cfHeapSize) / 65536
	m := &wasm.Module{
		TypeSection:   a.typeList,
		ImportSection: a.importList,
		MemorySection: &wasm.Memory{Min: pages, Max: pages, IsMaxEncoded: true},
		ExportSection: []*wasm.Export{{Type: wasm.ExternTypeMemory, Name: "memory", Index: 0}},
		DataSection: []*wasm.DataSegment{{
			OffsetExpression: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: leb128.EncodeInt32(cfData)},
			Init:             a.data,
		}},
	}
	for i, f := range a.funcs {
		m.FunctionSection = append(m.FunctionSection, f.typ)
		m.CodeSection = append(m.CodeSection, &wasm.Code{Body: append(f.body, wasm.OpcodeEnd)})
		m.ExportSection = append(m.ExportSection, &wasm.Export{Type: wasm.ExternTypeFunc, Name: f.export, Index: wasm.Index(len(a.importList) + i)})
	}
	return wabinary.EncodeModule(m), nil
}

// floorAssembler collects the floor's types, imports, functions and data.
type floorAssembler struct {
	typeList   []*wasm.FunctionType
	types      map[string]wasm.Index // by typeKey
	importList []*wasm.Import
	imports    map[string]wasm.Index // function index by import name
	funcs      []floorFunc
	data       []byte
}

type floorFunc struct {
	export string
	typ    wasm.Index
	body   []byte // without the final end
}

func (a *floorAssembler) typeOf(t *wasm.FunctionType) wasm.Index {
	key := string(t.Params) + "/" + string(t.Results)
	if i, ok := a.types[key]; ok {
		return i
	}
	a.typeList = append(a.typeList, t)
	a.types[key] = wasm.Index(len(a.typeList) - 1)
	return a.types[key]
}

// importFunc imports the env function name, once.
func (a *floorAssembler) importFunc(name string) {
	if _, ok := a.imports[name]; ok {
		return
	}
	sig := proxyabi.HostFunctions[name]
	t := a.typeOf(&wasm.FunctionType{Params: sig.Params, Results: sig.Results})
	a.importList = append(a.importList, &wasm.Import{Type: wasm.ExternTypeFunc, Module: "env", Name: name, DescFunc: t})
	a.imports[name] = wasm.Index(len(a.importList) - 1)
}

// bytes returns the instructions that push the address and size of b,
// stored once in the data segment (nothing: address 0, size 0).
func (a *floorAssembler) bytes(b []byte) []byte {
	if len(b) == 0 {
		return append(i32Const(0), i32Const(0)...)
	}
	at := bytes.Index(a.data, b)
	if at < 0 {
		at = len(a.data)
		a.data = append(a.data, b...)
	}
	return append(i32Const(uint32(cfData+at)), i32Const(uint32(len(b)))...)
}

// call appends a call of the import name with the given arguments, and
// drops its status.
func (a *floorAssembler) call(body []byte, name string, args ...[]byte) []byte {
	for _, arg := range args {
		body = append(body, arg...)
	}
	body = append(body, wasm.OpcodeCall)
	body = append(body, leb128.EncodeUint32(a.imports[name])...)
	return append(body, wasm.OpcodeDrop)
}

// hostCall appends the recorded host call c: its values as constants, its
// bytes from the data segment, its result slots at fixed addresses, and a
// metric ID read from the slot the floor's proxy_on_configure filled.
func (a *floorAssembler) hostCall(body []byte, c wasmhost.TracedCall, metricIDs []uint64) ([]byte, error) {
	params := proxyabi.HostFunctions[c.Name].Params
	var args [][]byte
	p, slot := 0, 0
	for i, arg := range c.Args {
		switch {
		case p >= len(params):
			return nil, fmt.Errorf("%v: more arguments than %s has parameters", c, c.Name)
		case i == 0 && metricCalls[c.Name]:
			k := slices.Index(metricIDs, arg.Value)
			args = append(args, append(i32Const(uint32(cfMetrics+4*k)), wasm.OpcodeI32Load, 2, 0))
		case arg.Kind == wasmhost.ArgValue && params[p] == proxyabi.I64:
			args = append(args, append([]byte{wasm.OpcodeI64Const}, leb128.EncodeInt64(int64(arg.Value))...))
		case arg.Kind == wasmhost.ArgValue:
			args = append(args, i32Const(uint32(arg.Value)))
		case arg.Kind == wasmhost.ArgBytes:
			args = append(args, a.bytes(arg.Bytes))
			p++
		case arg.Kind == wasmhost.ArgSlot && slot < cfMaxSlots:
			args = append(args, i32Const(uint32(cfSlots+8*slot)))
			slot++
		default:
			return nil, fmt.Errorf("%v: the floor cannot pass argument %d", c, i)
		}
		p++
	}
	if p != len(params) {
		return nil, fmt.Errorf("%v: %d parameters passed, %s has %d", c, p, c.Name, len(params))
	}
	return a.call(body, c.Name, args...), nil
}

func i32Const(v uint32) []byte {
	return append([]byte{wasm.OpcodeI32Const}, leb128.EncodeInt32(int32(v))...)
}

// diffTraces returns "" if two traces make the same host calls, from the
// same callbacks, in the same order, with the same values, bytes and
// statuses, and return the same results; else it describes the first
// difference. Metric IDs are compared by order of first use and type,
// since each module defines its own.
func diffTraces(want, got []wasmhost.TracedCall) string {
	w, g := normalizeMetrics(want), normalizeMetrics(got)
	for i := range max(len(w), len(g)) {
		switch {
		case i >= len(w):
			return fmt.Sprintf("step %d: extra %s", i+1, g[i])
		case i >= len(g):
			return fmt.Sprintf("step %d: missing %s", i+1, w[i])
		case !reflect.DeepEqual(w[i], g[i]):
			return fmt.Sprintf("step %d:\n    plugin: %s\n    floor:  %s", i+1, w[i], g[i])
		}
	}
	return ""
}

// normalizeMetrics returns a copy of trace whose metric IDs are replaced by
// their rank of first use, with the ID's type bits, and whose empty byte
// arguments are nil.
func normalizeMetrics(trace []wasmhost.TracedCall) []wasmhost.TracedCall {
	var ids []uint64
	out := make([]wasmhost.TracedCall, len(trace))
	for i, c := range trace {
		c.Args = slices.Clone(c.Args)
		for j, arg := range c.Args {
			if len(arg.Bytes) == 0 {
				c.Args[j].Bytes = nil
			}
		}
		if metricCalls[c.Name] && len(c.Args) > 0 {
			id := c.Args[0].Value
			k := slices.Index(ids, id)
			if k < 0 {
				ids, k = append(ids, id), len(ids)
			}
			c.Args[0].Value = uint64(k+1)<<2 | id&3
		}
		out[i] = c
	}
	return out
}

// floorRun runs one warm exchange of s through module and returns its
// trace and result.
func floorRun(tb testing.TB, module []byte, s scenario) ([]wasmhost.TracedCall, *wasmhost.Exchange) {
	tb.Helper()
	vm, p := startVM(tb, module, s.policy())
	trace, x, err := recordExchange(vm, p, s)
	if err != nil {
		tb.Fatalf("%s: %v", s.name, err)
	}
	return trace, x
}

// diffExchanges returns "" if two exchanges ended the same (request and
// response headers, local reply, actions, log lines), else what differs.
func diffExchanges(want, got *wasmhost.Exchange) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	var b strings.Builder
	field := func(name string, w, g any) {
		if !reflect.DeepEqual(w, g) {
			fmt.Fprintf(&b, "\n    %s: plugin %+v, floor %+v", name, w, g)
		}
	}
	field("request", want.Request, got.Request)
	field("local reply", want.LocalReply, got.LocalReply)
	field("response", want.Response, got.Response)
	field("request action", want.RequestAction, got.RequestAction)
	field("response action", want.ResponseAction, got.ResponseAction)
	field("logs", want.Logs, got.Logs)
	return b.String()
}

// callbackExports lists the floor-relevant function exports of a module.
func callbackExports(tb testing.TB, module []byte) []string {
	tb.Helper()
	exports, err := pluginExports(module)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for name := range exports {
		if floorExport(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestCallFloorsMakeThePluginsHostCalls checks, for every scenario, that
// the call-matched floor exports the plugin's callbacks, makes the host
// calls the plugin made in the recorded exchange (same callbacks, order,
// values, bytes and statuses), returns the same actions, and ends the
// exchange the same way: the same local reply, response headers and log
// lines.
func TestCallFloorsMakeThePluginsHostCalls(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			cf := callFloorOf(t, s)
			if want, got := callbackExports(t, pluginWasm(t)), callbackExports(t, cf.wasm); !slices.Equal(want, got) {
				t.Errorf("exports: plugin %v, floor %v", want, got)
			}
			checkPlugin(t, s, cf.x)
			trace, x := floorRun(t, cf.wasm, s)
			if d := diffTraces(cf.trace, trace); d != "" {
				t.Errorf("host calls differ: %s\nplugin:\n  %s", d, joinTrace(cf.trace))
			}
			if d := diffExchanges(cf.x, x); d != "" {
				t.Errorf("exchanges differ:%s", d)
			}
			t.Logf("plugin and floor:\n  %s", joinTrace(cf.trace))
		})
	}
}

func joinTrace(trace []wasmhost.TracedCall) string {
	lines := make([]string, len(trace))
	for i, c := range trace {
		lines[i] = c.String()
	}
	return strings.Join(lines, "\n  ")
}

// TestCallFloorCheckCatchesAFloorThatDiffers builds floors from altered
// recordings of the allowed preflight and allowed actual request and checks
// that the comparison of TestCallFloorsMakeThePluginsHostCalls reports each
// one: it can fail.
func TestCallFloorCheckCatchesAFloorThatDiffers(t *testing.T) {
	firstCall := func(trace []wasmhost.TracedCall, ok func(wasmhost.TracedCall) bool) int {
		return slices.IndexFunc(trace, func(c wasmhost.TracedCall) bool { return !c.Return && ok(c) })
	}
	anyCall := func(wasmhost.TracedCall) bool { return true }
	hasBytes := func(c wasmhost.TracedCall) bool {
		return slices.ContainsFunc(c.Args, func(a wasmhost.TraceArg) bool { return len(a.Bytes) > 0 })
	}
	cases := []struct {
		name  string
		alter func([]wasmhost.TracedCall) ([]wasmhost.TracedCall, bool) // false: not applicable
	}{
		{"a floor that skips a host call", func(tr []wasmhost.TracedCall) ([]wasmhost.TracedCall, bool) {
			i := firstCall(tr, anyCall)
			return slices.Delete(tr, i, i+1), i >= 0
		}},
		{"a floor that makes a host call twice", func(tr []wasmhost.TracedCall) ([]wasmhost.TracedCall, bool) {
			i := firstCall(tr, anyCall)
			return slices.Insert(tr, i, tr[i]), i >= 0
		}},
		{"a floor that passes other bytes", func(tr []wasmhost.TracedCall) ([]wasmhost.TracedCall, bool) {
			i := firstCall(tr, hasBytes)
			if i < 0 {
				return tr, false
			}
			tr[i].Args = slices.Clone(tr[i].Args)
			for j, a := range tr[i].Args {
				if len(a.Bytes) > 0 {
					tr[i].Args[j].Bytes = append([]byte{'x'}, a.Bytes[1:]...)
					break
				}
			}
			return tr, true
		}},
		{"a floor that makes two host calls in the other order", func(tr []wasmhost.TracedCall) ([]wasmhost.TracedCall, bool) {
			for i := 0; i+1 < len(tr); i++ {
				a, b := tr[i], tr[i+1]
				if !a.Return && !b.Return && a.Callback == b.Callback && a.Name != b.Name {
					tr[i], tr[i+1] = b, a
					return tr, true
				}
			}
			return tr, false
		}},
		{"a floor that makes a host call from another callback", func(tr []wasmhost.TracedCall) ([]wasmhost.TracedCall, bool) {
			i := firstCall(tr, func(c wasmhost.TracedCall) bool { return c.Callback == "proxy_on_request_headers" })
			if i < 0 {
				return tr, false
			}
			// proxy_on_context_create runs first in the exchange: the
			// call moves there.
			tr[i].Callback = "proxy_on_context_create"
			c := tr[i]
			return append([]wasmhost.TracedCall{c}, slices.Delete(tr, i, i+1)...), true
		}},
		{"a floor that returns another action", func(tr []wasmhost.TracedCall) ([]wasmhost.TracedCall, bool) {
			i := slices.IndexFunc(tr, func(c wasmhost.TracedCall) bool { return c.Return && c.Callback == "proxy_on_request_headers" })
			if i >= 0 {
				tr[i].Result ^= 1
			}
			return tr, i >= 0
		}},
	}
	for _, name := range []string{"allowed preflight", "allowed actual"} {
		s := scenarioNamed(t, name)
		cf := callFloorOf(t, s)
		for _, tc := range cases {
			t.Run(name+"/"+tc.name+" is caught", func(t *testing.T) {
				altered, ok := tc.alter(slices.Clone(cf.trace))
				if !ok {
					t.Skipf("the %s makes no call this alteration applies to", name)
				}
				code, err := assembleCallFloor(pluginWasm(t), altered)
				if err != nil {
					t.Fatal(err)
				}
				trace, x := floorRun(t, code, s)
				if diffTraces(cf.trace, trace) == "" && diffExchanges(cf.x, x) == "" {
					t.Errorf("not caught: the altered floor's exchange matches the plugin's\n  %s", joinTrace(trace))
				}
			})
		}
	}
}

func scenarioNamed(tb testing.TB, name string) scenario {
	tb.Helper()
	i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == name })
	if i < 0 {
		tb.Fatalf("no scenario %q", name)
	}
	return scenarios[i]
}
