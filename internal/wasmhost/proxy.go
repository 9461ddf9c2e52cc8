//go:build !wasip1

package wasmhost

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/corswasm/corswasm/internal/proxyabi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Host call statuses, as the ABI numbers them.
const (
	statusOK                  = 0
	statusNotFound            = 1
	statusBadArgument         = 2
	statusInvalidMemoryAccess = 6
)

// Buffer and header map types, as the ABI numbers them.
const (
	bufferVMConfiguration     = 6
	bufferPluginConfiguration = 7
	bufferTypeMax             = 8

	mapRequestHeaders  = 0
	mapResponseHeaders = 2
	mapTypeMax         = 7
)

// proxyFunc is a proxy-wasm host function. It reads its parameters from
// stack and writes its status to stack[0].
type proxyFunc struct {
	name string
	fn   func(vm *VM, m api.Memory, stack []uint64)
}

// proxyFuncs are the env functions the host provides, a subset of
// proxy-wasm-cpp-host's; their signatures are the ABI table's
// (proxyabi.HostFunctions).
var proxyFuncs = []proxyFunc{
	{"proxy_log", (*VM).proxyLog},
	{"proxy_get_log_level", (*VM).proxyGetLogLevel},
	{"proxy_get_buffer_bytes", (*VM).proxyGetBufferBytes},
	{"proxy_get_header_map_value", (*VM).proxyGetHeaderMapValue},
	{"proxy_add_header_map_value", (*VM).proxyAddHeaderMapValue},
	{"proxy_replace_header_map_value", (*VM).proxyReplaceHeaderMapValue},
	{"proxy_remove_header_map_value", (*VM).proxyRemoveHeaderMapValue},
	{"proxy_get_header_map_pairs", (*VM).proxyGetHeaderMapPairs},
	{"proxy_set_header_map_pairs", (*VM).proxySetHeaderMapPairs},
	{"proxy_send_local_response", (*VM).proxySendLocalResponse},
	{"proxy_get_property", (*VM).proxyGetProperty},
	{"proxy_define_metric", (*VM).proxyDefineMetric},
	{"proxy_increment_metric", (*VM).proxyIncrementMetric},
}

// hostModules builds the env and wasi_snapshot_preview1 host modules of the
// VM's profile, registers their functions in vm.names, and returns the
// signature of every function by import name.
func (vm *VM) hostModules(ctx context.Context) (env, wasi wazero.HostModuleBuilder, provided map[string]sig, err error) {
	provided = map[string]sig{}
	env = vm.rt.NewHostModuleBuilder("env")
	for _, f := range proxyFuncs {
		idx := vm.register(f.name)
		fn, name := f.fn, f.name
		sig, ok := proxyabi.HostFunctions[name]
		if !ok {
			return nil, nil, nil, fmt.Errorf("wasmhost: %s is not a proxy-wasm host function", name)
		}
		env.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, m api.Module, stack []uint64) {
				vm.enter(idx)
				var traced *TracedCall
				if vm.trace != nil {
					traced = &TracedCall{Callback: vm.callback, Name: name, Args: traceArgs(name, m.Memory(), stack)}
				}
				var start time.Time
				if vm.timing != nil {
					start = time.Now()
				}
				if vm.faults == nil || !vm.injectFault(idx, name, m.Memory(), stack) {
					fn(vm, m.Memory(), stack)
				}
				if vm.timing != nil {
					vm.timing.of(vm.callback).Host += time.Since(start)
				}
				if traced != nil {
					traced.Result = uint64(u32(stack[0]))
					vm.trace(*traced)
				}
			}), sig.Params, sig.Results).
			Export(f.name)
		provided[f.name] = sig
	}

	// The WASI functions are wazero's, wrapped so the host can restrict and
	// count them: compile wazero's module only to read its definitions.
	impl, err := wasi_snapshot_preview1.NewBuilder(vm.rt).Compile(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("wasmhost: compiling wazero's WASI module: %w", err)
	}
	defer impl.Close(ctx)
	defs := impl.ExportedFunctions()
	wasi = vm.rt.NewHostModuleBuilder(wasiModule)
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		if !vm.profile.ProvidesWASI(name) {
			continue
		}
		def := defs[name]
		var inner api.GoModuleFunction
		switch g := def.GoFunction().(type) {
		case api.GoModuleFunction:
			inner = g
		case api.GoFunction:
			inner = api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) { g.Call(ctx, stack) })
		default:
			return nil, nil, nil, fmt.Errorf("wasmhost: wazero's WASI function %s is not a Go function", name)
		}
		if name == "poll_oneoff" && vm.profile.pollENOSYS() {
			inner = api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
				stack[0] = 52 // ENOSYS, as Envoy 1.33-1.38's stub
			})
		}
		idx := vm.register(wasiModule + "." + name)
		wasi.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
				vm.enter(idx)
				inner.Call(ctx, m, stack)
			}), def.ParamTypes(), def.ResultTypes()).
			WithParameterNames(def.ParamNames()...).
			WithResultNames(def.ResultNames()...).
			Export(name)
		provided[wasiModule+"."+name] = defSig(def)
	}
	return env, wasi, provided, nil
}

// register adds a host function's import name and returns its index.
func (vm *VM) register(name string) int {
	vm.names = append(vm.names, name)
	return len(vm.names) - 1
}

// u32 decodes an i32 parameter: wazero leaves the upper half of its stack
// slot undefined.
func u32(v uint64) uint32 { return uint32(v) }

// read returns a view of size bytes of module memory at ptr.
func read(m api.Memory, ptr, size uint64) ([]byte, bool) {
	return m.Read(u32(ptr), u32(size))
}

// copyOut returns data to the module as Envoy does: memory from the
// module's allocator (only for a size above zero), the data copied there,
// then its address and size written to the slots at ptrPtr and sizePtr.
func copyOut[T string | []byte](vm *VM, m api.Memory, data T, ptrPtr, sizePtr uint64) uint64 {
	var addr uint32
	if len(data) > 0 {
		addr = vm.allocate(uint32(len(data)))
		if addr == 0 {
			return statusInvalidMemoryAccess
		}
		var ok bool
		switch d := any(data).(type) {
		case string:
			ok = m.WriteString(addr, d)
		case []byte:
			ok = m.Write(addr, d)
		}
		if !ok {
			return statusInvalidMemoryAccess
		}
	}
	if !m.WriteUint32Le(u32(ptrPtr), addr) || !m.WriteUint32Le(u32(sizePtr), uint32(len(data))) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

func (vm *VM) proxyLog(m api.Memory, s []uint64) {
	level := LogLevel(u32(s[0]))
	if level > LogCritical {
		s[0] = statusBadArgument
		return
	}
	msg, ok := read(m, s[1], s[2])
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	vm.addLog(level, string(msg))
	s[0] = statusOK
}

func (vm *VM) proxyGetLogLevel(m api.Memory, s []uint64) {
	if !m.WriteUint32Le(u32(s[0]), uint32(vm.logLevel)) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	s[0] = statusOK
}

func (vm *VM) proxyGetBufferBytes(m api.Memory, s []uint64) {
	typ, start, max := u32(s[0]), uint64(u32(s[1])), uint64(u32(s[2]))
	var buf []byte
	switch {
	case typ > bufferTypeMax:
		s[0] = statusBadArgument
		return
	case typ == bufferVMConfiguration:
		buf = vm.vmConfig
	case typ == bufferPluginConfiguration && vm.configuring:
		buf = vm.pluginConfig
	default: // bodies, call data: this host has none
		s[0] = statusNotFound
		return
	}
	if start > uint64(len(buf)) {
		s[0] = statusBadArgument
		return
	}
	end := min(uint64(len(buf)), start+max)
	s[0] = copyOut(vm, m, buf[start:end], s[3], s[4])
}

// headerMap returns the header map of type t, or the status Envoy returns
// when it is not available. Maps are writable except in proxy_on_log.
func (vm *VM) headerMap(mapType uint64, write bool) (*Headers, uint64) {
	t := u32(mapType)
	if t > mapTypeMax {
		return nil, statusBadArgument
	}
	s := vm.stream
	if s == nil {
		return nil, statusBadArgument
	}
	if vm.inLog {
		switch {
		case write:
			return nil, statusBadArgument
		case t == mapRequestHeaders && s.reqSeen:
			return &s.req, statusOK
		case t == mapResponseHeaders && s.respSeen:
			return &s.resp, statusOK
		}
		return nil, statusNotFound
	}
	switch {
	case t == mapRequestHeaders && s.reqOpen:
		return &s.req, statusOK
	case t == mapResponseHeaders && s.respOpen:
		return &s.resp, statusOK
	}
	return nil, statusBadArgument
}

func (vm *VM) proxyGetHeaderMapValue(m api.Memory, s []uint64) {
	h, st := vm.headerMap(s[0], false)
	if h == nil {
		s[0] = st
		return
	}
	key, ok := read(m, s[1], s[2])
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	v, found := h.first(lower(string(key)))
	if !found {
		if vm.abi != abi010 {
			s[0] = statusNotFound
			return
		}
		v = "" // ABI 0.1.0 reports a missing header as an empty value
	}
	s[0] = copyOut(vm, m, v, s[3], s[4])
}

// keyValue reads the key and value parameters of the add and replace calls.
func keyValue(m api.Memory, s []uint64) (key, value string, ok bool) {
	k, ok1 := read(m, s[1], s[2])
	v, ok2 := read(m, s[3], s[4])
	if !ok1 || !ok2 {
		return "", "", false
	}
	return strings.ToLower(string(k)), string(v), true
}

func (vm *VM) proxyAddHeaderMapValue(m api.Memory, s []uint64) {
	vm.setHeaderMapValue(m, s, Headers.add)
}

func (vm *VM) proxyReplaceHeaderMapValue(m api.Memory, s []uint64) {
	vm.setHeaderMapValue(m, s, Headers.replace)
}

// setHeaderMapValue serves add and replace, which differ only in how the
// value joins the map.
func (vm *VM) setHeaderMapValue(m api.Memory, s []uint64, op func(Headers, string, string) Headers) {
	h, st := vm.headerMap(s[0], true)
	if h == nil {
		s[0] = st
		return
	}
	k, v, ok := keyValue(m, s)
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	*h = op(*h, k, v)
	s[0] = statusOK
}

func (vm *VM) proxyRemoveHeaderMapValue(m api.Memory, s []uint64) {
	h, st := vm.headerMap(s[0], true)
	if h == nil {
		s[0] = st
		return
	}
	k, ok := read(m, s[1], s[2])
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	*h = h.remove(strings.ToLower(string(k)))
	s[0] = statusOK
}

func (vm *VM) proxyGetHeaderMapPairs(m api.Memory, s []uint64) {
	h, st := vm.headerMap(s[0], false)
	if h == nil {
		s[0] = st
		return
	}
	var data []byte
	if len(*h) > 0 { // an empty map is returned as no data, as Envoy does
		vm.scratch = h.appendPairs(vm.scratch[:0])
		data = vm.scratch
	}
	s[0] = copyOut(vm, m, data, s[1], s[2])
}

func (vm *VM) proxySetHeaderMapPairs(m api.Memory, s []uint64) {
	h, st := vm.headerMap(s[0], true)
	if h == nil {
		s[0] = st
		return
	}
	b, ok := read(m, s[1], s[2])
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	pairs, err := parsePairs(b)
	if err != nil {
		s[0] = statusBadArgument
		return
	}
	*h = pairs
	s[0] = statusOK
}

func (vm *VM) proxySendLocalResponse(m api.Memory, s []uint64) {
	details, ok1 := read(m, s[1], s[2])
	body, ok2 := read(m, s[3], s[4])
	pairs, ok3 := read(m, s[5], s[6])
	if !ok1 || !ok2 || !ok3 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	headers, err := parsePairs(pairs)
	if err != nil {
		s[0] = statusBadArgument
		return
	}
	// Envoy ignores a local response outside a stream, and sends only the
	// first one of a stream.
	if st := vm.stream; st != nil && st.local == nil {
		st.local = &LocalReply{
			Status:     int(u32(s[0])),
			Headers:    headers,
			Body:       slices.Clone(body),
			Details:    strings.Join(strings.Fields(string(details)), "_"),
			GRPCStatus: int32(u32(s[7])),
		}
		st.localInResponse = vm.phase == phaseResponse
	}
	s[0] = statusOK
}

func (vm *VM) proxyGetProperty(m api.Memory, s []uint64) {
	path, ok := read(m, s[0], s[1])
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	v, found := []byte(nil), false
	if vm.stream != nil {
		v, found = vm.stream.props[string(path)]
	}
	if !found {
		v, found = vm.props[string(path)]
	}
	if !found {
		s[0] = statusNotFound
		return
	}
	s[0] = copyOut(vm, m, v, s[2], s[3])
}

// Metric types, as the ABI numbers them.
const (
	metricCounter   = 0
	metricGauge     = 1
	metricHistogram = 2
)

// metrics are the VM's metrics. IDs carry the type in their low two bits
// and count up in steps of 4 per type, as Envoy's do.
type metrics struct {
	byID   map[uint32]*metric
	byName map[string]*metric
	next   [3]uint32
}

type metric struct {
	typ   uint32
	value int64
}

func (ms *metrics) values() map[string]int64 {
	out := make(map[string]int64, len(ms.byName))
	for name, m := range ms.byName {
		out[name] = m.value
	}
	return out
}

func (vm *VM) proxyDefineMetric(m api.Memory, s []uint64) {
	typ := u32(s[0])
	if typ > metricHistogram {
		s[0] = statusBadArgument
		return
	}
	name, ok := read(m, s[1], s[2])
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	ms := &vm.metrics
	if ms.byID == nil {
		ms.byID, ms.byName = map[uint32]*metric{}, map[string]*metric{}
	}
	met := ms.byName[string(name)]
	if met == nil {
		met = &metric{typ: typ}
		ms.byName[string(name)] = met
	}
	ms.next[typ]++
	id := ms.next[typ]<<2 | typ
	ms.byID[id] = met
	if !m.WriteUint32Le(u32(s[3]), id) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	s[0] = statusOK
}

func (vm *VM) proxyIncrementMetric(_ api.Memory, s []uint64) {
	met := vm.metrics.byID[u32(s[0])]
	offset := int64(s[1])
	switch {
	case met == nil:
		s[0] = statusNotFound
	case met.typ == metricCounter && offset > 0, met.typ == metricGauge:
		met.value += offset
		s[0] = statusOK
	default: // a counter going down, a histogram
		s[0] = statusBadArgument
	}
}
