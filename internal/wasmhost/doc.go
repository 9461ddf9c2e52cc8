//go:build !wasip1

// Package wasmhost runs a proxy-wasm module (ABI 0.2.1) the way Envoy's
// proxy-wasm host (proxy-wasm-cpp-host) runs it, in wazero, with real clocks.
//
// It is the project's own host for the built plugin.wasm: an embedded HTTP
// host can run the module for every request, benchmarks can count the host
// calls a request costs, and tests can load a module as a given Envoy version
// would (see Profile).
//
// A VM is one module instance, like the VM of one Envoy worker thread:
//
//	vm, err := wasmhost.New(ctx, wasm, wasmhost.Options{Cache: cache})
//	plugin, err := vm.StartPlugin(config)   // proxy_on_context_create, _vm_start, _configure
//	x, err := plugin.Do(request, upstreamResponse)
//	// x.LocalReply, x.Response, vm.Calls(), vm.Metrics(), vm.Logs()
//
// What the host emulates, and how:
//
//   - Loading. The module must be a WASI reactor (it exports _initialize and
//     not _start), export an ABI marker (proxy_abi_version_0_2_1, _0_2_0 or
//     _0_1_0), its memory and an allocator (malloc, else
//     proxy_on_memory_allocate), and every callback it exports must have the
//     ABI's signature. Every import must be provided by the host profile, with
//     the same signature. A module that fails any of this is refused, with
//     every problem named.
//   - Lifecycle. New instantiates the module, which runs _initialize.
//     VM.StartPlugin creates a root context: proxy_on_context_create(root, 0),
//     proxy_on_vm_start(root, VM configuration size) and
//     proxy_on_configure(root, configuration size), as Envoy does for every
//     plugin configuration (Envoy calls proxy_on_vm_start once per root
//     context, not once per VM). A stream is created in the VM on its first
//     callback, proxy_on_context_create(stream, root); Stream.Close calls
//     proxy_on_log, proxy_on_done and proxy_on_delete, in Envoy's order
//     (Envoy runs the access log before it destroys the filters; the ABI
//     spec lists proxy_on_done first). Callbacks the module does not export
//     are skipped.
//   - Local responses. proxy_send_local_response during the request headers
//     is recorded (LocalReply) and, as Envoy sends local replies through the
//     encoder filters, the same stream's proxy_on_response_headers then runs
//     with the reply's headers: ":status", the module's headers and, with a
//     body, content-length and content-type.
//   - Header maps behave like Envoy's: names are lower case, a name may have
//     several values, proxy_get_header_map_value returns the first one, and
//     an empty value is a value (status OK, nothing to copy). The request
//     headers are available during proxy_on_request_headers (and later, if
//     that callback did not return Continue), the response headers during
//     proxy_on_response_headers; both are readable in proxy_on_log. Any other
//     access returns BadArgument, as in Envoy.
//   - Memory for the module. Data returned to the module is copied into memory
//     obtained from its allocator, only for sizes above zero; for an empty
//     result the host writes a zero address and size.
//   - Restricted phases. While _initialize runs and while the allocator runs,
//     only a short allow-list of imports may be called (proxy_log and a few
//     WASI functions; see Profile). Any other call fails the VM
//     ("restricted_callback"), as Envoy's V8 integration does.
//   - Failure. A trap in any callback (including the allocator and
//     _initialize), a restricted call, or proc_exit fails the VM, as Envoy's
//     fail state does: Err reports why, and every later call returns an error
//     wrapping ErrFailed.
//
// Accounting: host calls are counted by import name and phase (VM.Calls,
// VM.ResetCalls); log lines are kept with their level (VM.Logs, Stream.Logs,
// Options.Log); metrics are kept by name (VM.Metrics); properties are set with
// VM.SetProperty and Stream.SetProperty; VM.MemorySize is the instance's
// linear memory. VM.SetFaults makes chosen proxy-wasm host calls fail or
// return nothing, for failure-mode tests (see faults.go).
//
// Clocks are real (wazero's WithSysNanotime, WithSysWalltime and
// WithSysNanosleep): Go's garbage collector paces itself by the clock, and
// under wazero's default fake clock a long run lets the module's heap grow
// without bound.
//
// # Concurrency
//
// A VM runs one callback at a time, like one Envoy worker: its methods, and
// those of its plugins and streams, lock the VM, so streams may be driven from
// several goroutines and their callbacks interleave as they would on one
// worker. For parallelism run several VMs (Envoy runs one per worker thread),
// sharing Options.Cache so the module is compiled once; picking a VM per
// request is left to the caller.
package wasmhost
