//go:build !wasip1

package wasmhost

import (
	"slices"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/proxyabi"
)

// TestTraceRecordsHostCallsAndReturns runs a module that reads origin, adds
// a request header and logs a line, and checks the trace names each call
// with its callback, values and bytes, then the callbacks' returns; and that
// nothing is traced once the trace is removed.
func TestTraceRecordsHostCallsAndReturns(t *testing.T) {
	m := testModule{
		imports: []wasmImport{
			importHeaderValue,
			{"env", "proxy_add_header_map_value", i32s(5), i32s(1)},
			importLog,
		},
		funcs: reactor(
			wasmFunc{export: "proxy_on_context_create", params: i32s(2)},
			wasmFunc{export: "proxy_on_request_headers", params: i32s(3), results: i32s(1), body: code(
				i32c(mapRequestHeaders), i32c(100), i32c(6), i32c(200), i32c(204), call(0), drop,
				i32c(mapRequestHeaders), i32c(110), i32c(3), i32c(120), i32c(1), call(1), drop,
				i32c(int32(LogWarn)), i32c(130), i32c(2), call(2), drop,
				i32c(1),
			)},
		),
		data: map[uint32]string{100: "origin", 110: "x-a", 120: "1", 130: "hi"},
	}
	vm := newVM(t, m.encode(), Options{})
	p, err := vm.StartPlugin(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	vm.SetTrace(func(c TracedCall) { got = append(got, c.String()) })
	do(t, p, actual, upstream)
	want := []string{
		"proxy_on_context_create returned 0",
		`proxy_on_request_headers: proxy_get_header_map_value(0, "origin", &, &) = 0`,
		`proxy_on_request_headers: proxy_add_header_map_value(0, "x-a", "1") = 0`,
		`proxy_on_request_headers: proxy_log(3, "hi") = 0`,
		"proxy_on_request_headers returned 1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("trace:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	vm.SetTrace(nil)
	got = nil
	do(t, p, actual, upstream)
	if len(got) > 0 {
		t.Errorf("traced %q after SetTrace(nil)", got)
	}
}

// TestTraceLayoutsMatchSignatures checks that every proxy-wasm function the
// host provides has a trace layout that covers its parameters.
func TestTraceLayoutsMatchSignatures(t *testing.T) {
	for _, f := range proxyFuncs {
		layout, ok := traceLayouts[f.name]
		if !ok {
			t.Errorf("%s has no trace layout", f.name)
			continue
		}
		n := len(layout) + strings.Count(layout, "b") // b is an address and a size
		if want := len(proxyabi.HostFunctions[f.name].Params); n != want {
			t.Errorf("%s: layout %q covers %d parameters, the function has %d", f.name, layout, n, want)
		}
	}
}

// TestTimingCountsEachCallback runs two exchanges of a module that reads
// origin (so the host calls its allocator) and checks the timings: each
// callback's calls, host time within the total, and nothing after
// SetTiming(false).
func TestTimingCountsEachCallback(t *testing.T) {
	m := testModule{
		imports: []wasmImport{importHeaderValue},
		funcs: reactor(wasmFunc{export: "proxy_on_request_headers", params: i32s(3), results: i32s(1), body: code(
			i32c(mapRequestHeaders), i32c(100), i32c(6), i32c(200), i32c(204), call(0), drop,
			i32c(0),
		)}),
		data: map[uint32]string{100: "origin"},
	}
	vm := newVM(t, m.encode(), Options{})
	p, err := vm.StartPlugin(nil)
	if err != nil {
		t.Fatal(err)
	}
	vm.SetTiming(true)
	do(t, p, actual, upstream)
	do(t, p, actual, upstream)
	ts := vm.Timings()
	req, alloc := ts["proxy_on_request_headers"], ts["proxy_on_memory_allocate"]
	if req.Calls != 2 || alloc.Calls != 2 || len(ts) != 2 {
		t.Errorf("timings %+v, want 2 calls of the request callback and of the allocator", ts)
	}
	if req.Host <= 0 || req.Host > req.Total || req.Guest() < 0 {
		t.Errorf("request callback: total %v, host %v; want 0 < host <= total", req.Total, req.Host)
	}
	vm.SetTiming(false)
	do(t, p, actual, upstream)
	if ts := vm.Timings(); len(ts) != 0 {
		t.Errorf("timings %+v after SetTiming(false)", ts)
	}
}
