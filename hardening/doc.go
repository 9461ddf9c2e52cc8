// Package hardening holds the failure-mode, size-limit, soak and host-profile
// tests of the real plugin.wasm (issue 5, items 3 and 4). It has no code of
// its own: the tests build the module, run it in the project's Envoy-like
// host (package wasmhost, real clocks) and check that it fails safe.
//
// TestMain builds two modules from the repository root: the release build
// (the command of make build) and a fault-injection build
// (-tags corswasm_faultinject, see panic_knob.go in package main) whose
// plugin panics inside a callback when a request carries
// x-corswasm-fault: panic-request, panic-request-runtime or panic-response,
// sleeps on a Go runtime timer with x-corswasm-fault: sleep, and logs its
// count of Go heap allocations with x-corswasm-fault: mallocs.
//
// What runs:
//
//   - hostcalls_test.go: host calls that fail (BadArgument, InternalFailure),
//     return nothing or return memory the module never allocated, on every
//     host call the plugin makes; missing and empty headers.
//   - panic_test.go: panics forced in the request and response callbacks,
//     and a check that the release module has no trace of the knob.
//   - limits_test.go: header values and maps at Envoy's limits (1 MiB,
//     1024 pairs) and around the engine's 8 KiB request-headers bound.
//   - config_test.go: refused configuration updates leave nothing behind.
//   - profiles_test.go: the functional checks on the Envoy 1.39 profile, how
//     far the module gets on 1.33-1.38 (and, as a control, that a runtime
//     timer kills the VM there), and the refusal on 1.32.
//   - alloc_test.go: a warm exchange makes no heap allocation, in every
//     kind of exchange (what keeps linear memory flat).
//   - soak_test.go: one million requests through one VM on the 1.39 profile
//     (CORSWASM_SOAK_REQUESTS, or -soak-requests, sets the count; -short runs
//     100 000).
package hardening
