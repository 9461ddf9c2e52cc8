//go:build !wasip1

package wasmhost

import (
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/corswasm/corswasm/internal/proxyabi"
)

// Tracing: a benchmark or test can record every proxy-wasm host call the
// module makes, with what it was given, and what every callback returned,
// for instance to build a module that makes exactly the same calls:
//
//	var trace []wasmhost.TracedCall
//	vm.SetTrace(func(c wasmhost.TracedCall) { trace = append(trace, c) })
//	x, err := plugin.Do(request, upstream)
//	vm.SetTrace(nil)
//
// WASI calls (the Go runtime's) are not traced. A VM without a trace pays
// one nil check per host call and per callback.

// TracedCall is one step of a trace: a proxy-wasm host call, or a callback
// returning.
type TracedCall struct {
	// Callback is the export that was running: "proxy_on_request_headers",
	// "proxy_on_context_create", the allocator ("proxy_on_memory_allocate")
	// for calls made while it ran, "_initialize".
	Callback string
	// Return marks a callback's return rather than a host call: Name and
	// Args are then empty and Result is what the callback returned.
	Return bool
	// Name is the import called, e.g. "proxy_get_header_map_value".
	Name string
	// Args are the call's parameters in order, an address and its size
	// being one ArgBytes.
	Args []TraceArg
	// Result is the status the host returned, or, with Return, the
	// callback's result (0 for a callback without one).
	Result uint64
}

// ArgKind says what a host call parameter is.
type ArgKind uint8

// Parameter kinds.
const (
	// ArgValue is a plain value: a map or buffer type, a status code, a
	// log level, a metric ID or delta, a gRPC status.
	ArgValue ArgKind = iota
	// ArgBytes is an address and size the host reads from: a header name
	// or value, serialized pairs, a local reply's details or body, a log
	// message, a property path, a metric name.
	ArgBytes
	// ArgSlot is the address of a slot the host writes a result to.
	ArgSlot
)

// TraceArg is one parameter of a traced host call.
type TraceArg struct {
	Kind ArgKind
	// Value is an ArgValue's value (an i32 zero-extended).
	Value uint64
	// Bytes is a copy of an ArgBytes' bytes.
	Bytes []byte
}

// traceLayouts gives the parameters of each proxy-wasm function the host
// provides, one letter each: v a value, b the address of bytes the host
// reads (the next parameter is their size), r the address of a slot the
// host writes.
var traceLayouts = map[string]string{
	"proxy_log":                      "vb",
	"proxy_get_log_level":            "r",
	"proxy_get_buffer_bytes":         "vvvrr",
	"proxy_get_header_map_value":     "vbrr",
	"proxy_add_header_map_value":     "vbb",
	"proxy_replace_header_map_value": "vbb",
	"proxy_remove_header_map_value":  "vb",
	"proxy_get_header_map_pairs":     "vrr",
	"proxy_set_header_map_pairs":     "vb",
	"proxy_send_local_response":      "vbbbv",
	"proxy_get_property":             "brr",
	"proxy_define_metric":            "vbr",
	"proxy_increment_metric":         "vv",
}

// SetTrace makes the VM call f with every proxy-wasm host call the module
// makes from now on and with every callback's return; nil stops it. f runs
// with the VM locked: it must not call the VM. Its TracedCall is f's to
// keep.
func (vm *VM) SetTrace(f func(TracedCall)) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	vm.trace = f
}

// traceArgs reads the parameters of the host call name from the stack,
// before the call overwrites it.
func traceArgs(name string, m api.Memory, stack []uint64) []TraceArg {
	layout, ok := traceLayouts[name]
	if !ok { // not a function of proxyFuncs: every parameter as a value
		layout = strings.Repeat("v", len(proxyabi.HostFunctions[name].Params))
	}
	params := proxyabi.HostFunctions[name].Params
	args := make([]TraceArg, 0, len(layout))
	i := 0
	for _, k := range layout {
		switch k {
		case 'v':
			v := stack[i]
			if params[i] == proxyabi.I32 {
				v = uint64(u32(v))
			}
			args = append(args, TraceArg{Kind: ArgValue, Value: v})
		case 'b':
			b, _ := read(m, stack[i], stack[i+1])
			args = append(args, TraceArg{Kind: ArgBytes, Bytes: append([]byte{}, b...)})
			i++
		case 'r':
			args = append(args, TraceArg{Kind: ArgSlot})
		}
		i++
	}
	return args
}

// traceReturn reports the return of callback f, whose result is stack[0]
// if it has one.
func (vm *VM) traceReturn(f api.Function, name string) {
	r := uint64(0)
	if len(f.Definition().ResultTypes()) > 0 {
		r = uint64(u32(vm.stack[0]))
	}
	vm.trace(TracedCall{Callback: name, Return: true, Result: r})
}

// String writes the call as `proxy_on_request_headers:
// proxy_get_header_map_value(0, "origin", &, &) = 0`, or a return as
// "proxy_on_request_headers returned 1". Long byte strings are shortened.
func (c TracedCall) String() string {
	if c.Return {
		return fmt.Sprintf("%s returned %d", c.Callback, c.Result)
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = a.String()
	}
	return fmt.Sprintf("%s: %s(%s) = %d", c.Callback, c.Name, strings.Join(args, ", "), c.Result)
}

// String writes a value as a number, bytes quoted (at most 40 of them, then
// the length), a slot as "&".
func (a TraceArg) String() string {
	switch a.Kind {
	case ArgBytes:
		if len(a.Bytes) > 40 {
			return fmt.Sprintf("%q...(%d bytes)", a.Bytes[:40], len(a.Bytes))
		}
		return fmt.Sprintf("%q", a.Bytes)
	case ArgSlot:
		return "&"
	}
	return fmt.Sprint(a.Value)
}

// CallbackTime is the time a VM spent in one callback, summed over its
// calls since VM.SetTiming (VM.Timings).
type CallbackTime struct {
	// Calls is how many times the callback ran.
	Calls int
	// Total is the time in the callback, host functions included.
	Total time.Duration
	// Host is the time in host functions called from it, the module's
	// allocator (which has its own entry) excluded.
	Host time.Duration
}

// Guest is the time the module spent in the callback itself: Total minus
// Host. Each timed call adds a clock read or two (tens of nanoseconds) of
// its own.
func (t CallbackTime) Guest() time.Duration { return t.Total - t.Host }

// callbackTimes are the VM's timings, by callback.
type callbackTimes map[string]*CallbackTime

func (ts callbackTimes) of(name string) *CallbackTime {
	t := ts[name]
	if t == nil {
		t = &CallbackTime{}
		ts[name] = t
	}
	return t
}

// SetTiming starts (true) or stops (false) timing the callbacks, from the
// host's side: the time in each export call, and in the host functions it
// calls. Starting clears the timings.
func (vm *VM) SetTiming(on bool) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	vm.timing = nil
	if on {
		vm.timing = callbackTimes{}
	}
}

// Timings returns the callbacks' times since SetTiming(true), by callback
// name (the allocator's under its export name).
func (vm *VM) Timings() map[string]CallbackTime {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	out := make(map[string]CallbackTime, len(vm.timing))
	for name, t := range vm.timing {
		out[name] = *t
	}
	return out
}
