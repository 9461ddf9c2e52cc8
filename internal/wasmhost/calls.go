//go:build !wasip1

package wasmhost

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Calls counts host calls by phase. A call belongs to the phase of the
// callback it is made from, allocator calls included.
type Calls struct {
	// Request holds the calls made during proxy_on_request_headers.
	Request PhaseCalls
	// Response holds the calls made during proxy_on_response_headers,
	// including its run for a local reply.
	Response PhaseCalls
	// Other holds every other call: _initialize, context creation,
	// proxy_on_vm_start, proxy_on_configure, proxy_on_log, proxy_on_done,
	// proxy_on_delete.
	Other PhaseCalls
}

// PhaseCalls counts host calls by import name: "proxy_log" for the
// proxy-wasm (env) functions, "wasi_snapshot_preview1.clock_time_get" for
// WASI.
type PhaseCalls map[string]int

// Proxy returns the number of proxy-wasm calls: the calls the module makes
// on purpose, not counting WASI calls (mostly the Go runtime's clock reads).
func (pc PhaseCalls) Proxy() int {
	n := 0
	for name, c := range pc {
		if strings.HasPrefix(name, "proxy_") {
			n += c
		}
	}
	return n
}

// Total returns the number of calls, WASI included.
func (pc PhaseCalls) Total() int {
	n := 0
	for _, c := range pc {
		n += c
	}
	return n
}

// String lists the counts by name, e.g.
// "proxy_get_header_map_value=1 proxy_increment_metric=1".
func (pc PhaseCalls) String() string {
	if len(pc) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, name := range slices.Sorted(maps.Keys(pc)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", name, pc[name])
	}
	return b.String()
}

// Proxy returns the number of proxy-wasm calls in every phase.
func (c Calls) Proxy() int { return c.Request.Proxy() + c.Response.Proxy() + c.Other.Proxy() }

// String lists the counts of each phase.
func (c Calls) String() string {
	return fmt.Sprintf("request: %v; response: %v; other: %v", c.Request, c.Response, c.Other)
}
