// Package abi is a thin proxy-wasm ABI 0.2.1 layer for modules built by the
// standard Go compiler (GOOS=wasip1, -buildmode=c-shared).
//
// It exports the callbacks the host calls (//go:wasmexport), imports the host
// calls the plugin needs (//go:wasmimport env proxy_*), hands the host memory
// to write results into, and dispatches callbacks to the plugin's root and
// stream contexts (see SetPlugin, Root and Stream).
//
// Only the lifecycle callbacks and the request and response header callbacks
// are exported: a host skips the callbacks a module does not export, so body
// and trailer data never enter the VM.
//
// No callback traps: a panic is recovered, logged at error level, reported to
// the hook set with SetInternalErrorHook, and the callback returns its safe
// value.
//
// Strings and byte slices returned by the host calls may be views of memory
// the host wrote into. In a stream's callbacks that memory is the stream's
// arena: the values stay valid until the stream ends (its OnDelete returns,
// or the host deletes a stream that called StreamDone), and the arena is
// then reused by later streams, so that a request allocates nothing once
// the VM has warmed up. A plugin that keeps a value longer copies it; a
// plugin that lets the layer reuse its Stream objects (ReuseStreams) may
// leave such values in them, since a Stream is kept only with the arena it
// read into. In a root's callbacks (the configuration) the memory is never
// reused.
//
// Outside wasip1 the package builds too (for go vet, go build ./... and unit
// tests of its portable parts), but every host call fails with ErrNotInHost.
package abi
