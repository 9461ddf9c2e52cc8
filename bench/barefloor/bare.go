//go:build wasip1

package main

import "unsafe"

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
