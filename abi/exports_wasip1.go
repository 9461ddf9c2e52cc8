//go:build wasip1

package abi

// The ABI version the module speaks. The callbacks carry their own
// //go:wasmexport directives (dispatch.go, memory.go). proxy_on_done and
// proxy_on_log are not exported (see dispatch.go).

//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion() {}
