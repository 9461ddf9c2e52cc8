// Package proxyabi is the proxy-wasm ABI 0.2.x as Envoy's host
// (proxy-wasm-cpp-host) defines it, seen from outside the module: the ABI
// marker exports, the callbacks the host calls and the env functions it
// provides, each with its wasm signature. It is the one signature table of
// the repository: the test host (internal/wasmhost) checks a module against
// it before instantiating it, and cmd/wasmcheck checks plugin.wasm against
// it. (Package abi is the other side: the module's own declarations.)
package proxyabi

import (
	"slices"
	"strings"
)

// ValueType is a wasm value type, encoded as in the binary format (the
// ValueType of wazero's api and of wabin's wasm packages is the same byte).
type ValueType = byte

// The value types the ABI uses.
const (
	I32 ValueType = 0x7f
	I64 ValueType = 0x7e
)

// ValueTypeName returns the text-format name of t ("i32").
func ValueTypeName(t ValueType) string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case 0x7d:
		return "f32"
	case 0x7c:
		return "f64"
	case 0x7b:
		return "v128"
	case 0x70:
		return "funcref"
	case 0x6f:
		return "externref"
	}
	return "unknown"
}

// Sig is a function signature.
type Sig struct{ Params, Results []ValueType }

// Words is the signature of n i32 parameters and the given results: most
// of the ABI.
func Words(n int, results ...ValueType) Sig {
	return Sig{Params: slices.Repeat([]ValueType{I32}, n), Results: results}
}

// String writes s as "(i32, i32) -> (i32)".
func (s Sig) String() string {
	return "(" + typeNames(s.Params) + ") -> (" + typeNames(s.Results) + ")"
}

func typeNames(ts []ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

// Equal says whether a function with these parameter and result types has
// the signature s.
func (s Sig) Equal(params, results []ValueType) bool {
	return slices.Equal(s.Params, params) && slices.Equal(s.Results, results)
}

// The ABI marker exports: a module declares its ABI version by exporting a
// function of no parameters and no results with one of these names. Envoy
// refuses a module without one ("Missing or unknown Proxy-Wasm ABI
// version").
const (
	ABI021 = "proxy_abi_version_0_2_1"
	ABI020 = "proxy_abi_version_0_2_0"
	ABI010 = "proxy_abi_version_0_1_0"
)

// Callbacks are the module exports the host calls, with the signatures of
// ABI 0.2.x, as the host checks them at load ("Bad function signature").
// ABI 0.1.0's header callbacks lack the end-of-stream parameter
// (HeaderCallbacks010). The host allocates through malloc when the module
// exports it, else through proxy_on_memory_allocate.
var Callbacks = map[string]Sig{
	"_initialize":               Words(0),
	"malloc":                    Words(1, I32),
	"proxy_on_memory_allocate":  Words(1, I32),
	"proxy_on_context_create":   Words(2),
	"proxy_on_vm_start":         Words(2, I32),
	"proxy_on_configure":        Words(2, I32),
	"proxy_on_request_headers":  Words(3, I32),
	"proxy_on_response_headers": Words(3, I32),
	"proxy_on_done":             Words(1, I32),
	"proxy_on_log":              Words(1),
	"proxy_on_delete":           Words(1),
}

// HeaderCallbacks010 is the signature of proxy_on_request_headers and
// proxy_on_response_headers under ABI 0.1.0.
var HeaderCallbacks010 = Words(2, I32)

// HostFunctions are the env.proxy_* functions Envoy provides to ABI 0.2.x
// modules, with their signatures (proxy-wasm-cpp-host). proxy_get_log_level
// is registered for ABI 0.2.1 only.
var HostFunctions = map[string]Sig{
	"proxy_log":                          Words(3, I32),
	"proxy_get_log_level":                Words(1, I32),
	"proxy_get_status":                   Words(3, I32),
	"proxy_set_property":                 Words(4, I32),
	"proxy_get_property":                 Words(4, I32),
	"proxy_send_local_response":          Words(8, I32),
	"proxy_get_shared_data":              Words(5, I32),
	"proxy_set_shared_data":              Words(5, I32),
	"proxy_register_shared_queue":        Words(3, I32),
	"proxy_resolve_shared_queue":         Words(5, I32),
	"proxy_dequeue_shared_queue":         Words(3, I32),
	"proxy_enqueue_shared_queue":         Words(3, I32),
	"proxy_get_header_map_value":         Words(5, I32),
	"proxy_add_header_map_value":         Words(5, I32),
	"proxy_replace_header_map_value":     Words(5, I32),
	"proxy_remove_header_map_value":      Words(3, I32),
	"proxy_get_header_map_pairs":         Words(3, I32),
	"proxy_set_header_map_pairs":         Words(3, I32),
	"proxy_get_header_map_size":          Words(2, I32),
	"proxy_get_buffer_status":            Words(3, I32),
	"proxy_get_buffer_bytes":             Words(5, I32),
	"proxy_set_buffer_bytes":             Words(5, I32),
	"proxy_continue_stream":              Words(1, I32),
	"proxy_close_stream":                 Words(1, I32),
	"proxy_http_call":                    Words(10, I32),
	"proxy_grpc_call":                    Words(12, I32),
	"proxy_grpc_stream":                  Words(9, I32),
	"proxy_grpc_send":                    Words(4, I32),
	"proxy_grpc_cancel":                  Words(1, I32),
	"proxy_grpc_close":                   Words(1, I32),
	"proxy_set_tick_period_milliseconds": Words(1, I32),
	"proxy_get_current_time_nanoseconds": Words(1, I32),
	"proxy_define_metric":                Words(4, I32),
	"proxy_increment_metric":             {Params: []ValueType{I32, I64}, Results: []ValueType{I32}},
	"proxy_record_metric":                {Params: []ValueType{I32, I64}, Results: []ValueType{I32}},
	"proxy_get_metric":                   Words(2, I32),
	"proxy_set_effective_context":        Words(1, I32),
	"proxy_done":                         Words(0, I32),
	"proxy_call_foreign_function":        Words(6, I32),
}
