// Package hardening holds the failure-mode, size-limit, soak and host-profile
// tests of the real plugin.wasm (issue 5, items 3 and 4). It has no code of
// its own: the tests build the module, run it in the project's Envoy-like
// host (package wasmhost, real clocks) and check that it fails safe.
//
// The tests run four modules, each built once per test binary on first use
// (package internal/testmodule): the release build
// (as make build makes it: the go build, then the post-link step of package
// internal/wasishim, which defines WASI sched_yield and poll_oneoff inside
// the module), a fault-injection build (-tags corswasm_faultinject, see
// faultinject_on.go in package main) whose plugin panics inside a callback
// when a request carries x-corswasm-fault: panic-request, panic-request-runtime
// or panic-response, sleeps on a Go runtime timer with x-corswasm-fault:
// sleep, and logs its count of Go heap allocations with x-corswasm-fault:
// mallocs; and, as controls for the host-profile tests, the same two built
// without the post-link step.
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
//   - profiles_test.go: on each Envoy host profile (1.39 and newer,
//     1.33-1.38, 1.32 and older), the functional checks, and a forced
//     runtime timer that the request and the VM survive; that the modules
//     import neither sched_yield nor poll_oneoff; and, as controls on the
//     modules without the post-link step, the refusal on 1.32 naming
//     exactly those two imports and a runtime timer that kills the VM on
//     1.33-1.38.
//   - alloc_test.go: a warm exchange makes no heap allocation, in every
//     kind of exchange (what keeps linear memory flat).
//   - soak_test.go: the soak on each profile, with memory flat: one million
//     requests through one VM on the 1.39 profile, 100 000 on each of the
//     others, and 100 000 with GOGC=10 on every profile (CORSWASM_SOAK_REQUESTS,
//     or -soak-requests, sets the million and the rest follow as a tenth of
//     it; -short runs a tenth of everything).
package hardening
