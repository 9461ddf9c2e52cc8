//go:build wasip1

package abi

// The callbacks the host calls. Each is a thin wrapper: the dispatch,
// including panic recovery, is in dispatch.go.

//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion() {}

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) uint32 { return allocate(size) }

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, parentID uint32) { onContextCreate(contextID, parentID) }

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(rootID, vmConfigSize uint32) uint32 {
	return boolWord(onVMStart(rootID, vmConfigSize))
}

//go:wasmexport proxy_on_configure
func proxyOnConfigure(rootID, pluginConfigSize uint32) uint32 {
	return boolWord(onConfigure(rootID, pluginConfigSize))
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(onRequestHeaders(contextID, numHeaders, endOfStream))
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(onResponseHeaders(contextID, numHeaders, endOfStream))
}

//go:wasmexport proxy_on_done
func proxyOnDone(contextID uint32) uint32 { return boolWord(onDone(contextID)) }

//go:wasmexport proxy_on_log
func proxyOnLog(contextID uint32) {}

//go:wasmexport proxy_on_delete
func proxyOnDelete(contextID uint32) { onDelete(contextID) }

// boolWord is a bool as the ABI passes it.
func boolWord(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
