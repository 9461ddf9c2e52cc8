// Command barefloor is the benchmarks' bare Go floor for a request without
// Origin: the least a Go module can do to make the plugin's host calls of
// that exchange. Its four stream callbacks are go:wasmexport functions with
// nothing in them but, on the request headers, one read of origin and, on
// the response headers, one vary line added, through go:wasmimport calls:
// no ABI layer, no panic recovery, no stream contexts, no CORS decision.
// BenchmarkModule/no_origin/barefloor measures it beside the plugin and
// the call-matched floor (a module with no language runtime making the
// same calls), which shows what Go's runtime and code generation cost by
// themselves (BENCHMARKS.md, issue 14). It is built as plugin.wasm is:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath -o barefloor.wasm ./bench/barefloor
//
// It answers every request the same way and must not serve traffic.
package main

import "unsafe"

// main is not run in a c-shared (reactor) module.
func main() {}

//go:wasmimport env proxy_get_header_map_value
func getHeaderMapValue(mapType uint32, key string, returnData, returnSize *uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func addHeaderMapValue(mapType uint32, key, value string) uint32

// The proxy-wasm map types the calls use.
const (
	requestHeaders  = 0
	responseHeaders = 2
)

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

// scratch receives what the host writes: a value is never read.
var scratch [1 << 10]byte

//go:wasmexport proxy_on_memory_allocate
func allocate(size uint32) uint32 {
	if size > uint32(len(scratch)) {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&scratch[0])))
}

//go:wasmexport proxy_on_context_create
func onContextCreate(contextID, parentID uint32) {}

//go:wasmexport proxy_on_vm_start
func onVMStart(rootID, vmConfigSize uint32) bool { return true }

//go:wasmexport proxy_on_configure
func onConfigure(rootID, configSize uint32) bool { return true }

// slotData and slotSize are where the host writes the origin's address and
// size; sawOrigin keeps the call's status, so that the call is used.
var (
	slotData, slotSize uint32
	sawOrigin          uint32
)

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	sawOrigin = getHeaderMapValue(requestHeaders, "origin", &slotData, &slotSize)
	return 0 // Continue
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	addHeaderMapValue(responseHeaders, "vary", "origin")
	return 0
}

//go:wasmexport proxy_on_delete
func onDelete(contextID uint32) {}
