//go:build !wasip1

package hardening

import (
	"strconv"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmhost"
)

// TestSteadyStateAllocatesNothing counts the Go heap allocations the module
// makes per exchange, once warm, for each kind of the soak's mix and for a
// large header map: none. This is what keeps linear memory flat after the
// first requests (the budget of BENCHMARKS.md): the host's replies land in
// per-stream arenas that later streams reuse, and stream contexts, scratch
// slices and log lines are reused too. The count comes from the fault build
// (x-corswasm-fault: mallocs logs runtime.MemStats.Mallocs).
func TestSteadyStateAllocatesNothing(t *testing.T) {
	vm, p := startPlugin(t, faultWasm(t), wasmhost.Options{Profile: wasmhost.Envoy139}, testConfig)
	mallocs := func() uint64 { return mallocsSoFar(t, p) }
	kinds := append(soakMix,
		soakKind{name: "large header map", req: preflight(app, "PUT", strings.Repeat("content-type,", 300), "x-padding", strings.Repeat("p", 8<<10))},
		soakKind{name: "admin route", req: actual(admin)},
	)
	do := func(k soakKind, n int) {
		t.Helper()
		vm.SetProperty([]string{"xds", "route_name"}, nil)
		if k.name == "admin route" {
			vm.SetProperty([]string{"xds", "route_name"}, []byte("admin-route"))
		}
		for range n {
			if _, err := p.Do(k.req, upstream); err != nil {
				t.Fatalf("%s: %v", k.name, err)
			}
		}
	}
	for _, k := range kinds {
		do(k, 300) // warm: arenas, scratch slices and maps reach their size
	}
	mallocs() // and the knob's own buffer
	const n = 1000
	for _, k := range kinds {
		before := mallocs()
		do(k, n)
		after := mallocs()
		// The mallocs exchanges themselves allocate nothing either, so any
		// difference is the kind's.
		if got := after - before; got != 0 {
			t.Errorf("%s: %d heap allocations in %d exchanges, want none", k.name, got, n)
		}
	}
	noTrap(t, vm)
}

// mallocsSoFar asks the fault build's plugin p for its count of Go heap
// allocations so far (x-corswasm-fault: mallocs).
func mallocsSoFar(t *testing.T, p *wasmhost.Plugin) uint64 {
	t.Helper()
	x, err := p.Do(actual(app, faultHeader, "mallocs"), upstream)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range x.Logs {
		if v, ok := strings.CutPrefix(l.Message, "corswasm: mallocs "); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("mallocs line %q: %v", l.Message, err)
			}
			return n
		}
	}
	t.Fatalf("no mallocs line in %v", x.Logs)
	return 0
}
