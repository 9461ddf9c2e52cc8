//go:build corswasm_faultinject

// This file exists only in test builds (-tags corswasm_faultinject): it lets
// the failure-mode tests (package hardening) force a panic inside a
// callback. The release build (make build) compiles faultinject_off.go
// instead; the tests check that the shipped module has no trace of this
// file.

package main

import (
	"runtime"
	"strconv"
	_ "unsafe" // for go:linkname

	"github.com/corswasm/corswasm/abi"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// faultHeader is the request header that asks for a fault. Its values:
//
//	panic-request          panic (a string) in proxy_on_request_headers, before the plugin reads the request
//	panic-request-runtime  a runtime error (index out of range) there instead
//	panic-response         panic (a string) in proxy_on_response_headers, before the plugin reads the response
//	sleep                  sleep 1 ms in proxy_on_request_headers (a runtime timer), then go on
//	mallocs                log "corswasm: mallocs N", the Go heap allocations made so far, then go on
//
// sleep forces what the release module rarely does: a Go runtime timer makes
// the scheduler wait in WASI poll_oneoff, which Envoy 1.33-1.38 stub with
// ENOSYS; the post-link step (internal/wasishim) defines poll_oneoff inside
// the module, so the wait completes on every host.
const faultHeader = "x-corswasm-fault"

// panicPrefix starts the value of every injected panic.
const panicPrefix = "corswasm: injected fault: "

// withFaults wraps the plugin's root factory so that its streams inject the
// faults faultHeader asks for. main.go's init registers what it returns.
func withFaults(newRoot func(uint32) abi.Root) func(uint32) abi.Root {
	return func(id uint32) abi.Root { return faultRoot{newRoot(id)} }
}

// faultRoot is the plugin's root context with fault-injecting streams.
type faultRoot struct{ abi.Root }

// The mallocs fault's state is package-level, so that reading the count
// allocates nothing itself.
var (
	memStats    runtime.MemStats
	mallocsLine []byte
)

// NewStream wraps the plugin's stream. The ABI layer hands the wrapper on
// to later streams with the plugin's stream inside (abi.ReuseStreams), so
// that the fault build, like the release build, allocates nothing per
// request at steady state.
func (r faultRoot) NewStream(id uint32) abi.Stream {
	s := r.Root.NewStream(id)
	if s == nil {
		return nil
	}
	return &faultStream{Stream: s}
}

// faultStream is one of the plugin's streams, panicking when asked.
type faultStream struct {
	abi.Stream
	panicResponse bool
	none          []int
}

func (s *faultStream) OnRequestHeaders(n int, endOfStream bool) types.Action {
	s.panicResponse = false // the last request's
	v, _ := abi.GetHeader(abi.MapRequestHeaders, faultHeader)
	switch v {
	case "panic-request":
		panic(panicPrefix + v)
	case "panic-request-runtime":
		_ = s.none[len(v)] // index out of range: a runtime.Error
	case "panic-response":
		s.panicResponse = true
	case "sleep":
		timeSleep(1e6)
	case "mallocs":
		runtime.ReadMemStats(&memStats)
		mallocsLine = strconv.AppendUint(append(mallocsLine[:0], "corswasm: mallocs "...), memStats.Mallocs, 10)
		abi.LogBytes(abi.LogInfo, mallocsLine)
	}
	return s.Stream.OnRequestHeaders(n, endOfStream)
}

func (s *faultStream) OnResponseHeaders(n int, endOfStream bool) types.Action {
	if s.panicResponse {
		panic(panicPrefix + "panic-response")
	}
	return s.Stream.OnResponseHeaders(n, endOfStream)
}

// timeSleep is time.Sleep, reached without importing package time, which
// would add WASI imports (package syscall's) to the fault build and make its
// interface differ from the release build's.
//
//go:linkname timeSleep time.Sleep
func timeSleep(ns int64)
