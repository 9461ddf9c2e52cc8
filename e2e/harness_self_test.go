package e2e

import (
	"testing"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// The harness itself: the module the tests run is the built plugin.wasm with
// _initialize also exported as _start, and one compiled instance serves every
// emulator.

func TestTheTestModuleExportsInitializeAsStart(t *testing.T) {
	code, err := moduleForTests()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := binary.DecodeModule(code, wasm.CoreFeaturesV2)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]wasm.Index{}
	for _, e := range mod.ExportSection {
		if e.Type == wasm.ExternTypeFunc {
			index[e.Name] = e.Index
		}
	}
	start, hasStart := index["_start"]
	init, hasInit := index["_initialize"]
	if !hasStart || !hasInit || start != init {
		t.Fatalf("_start (%v, index %d) and _initialize (%v, index %d) must both be exported and name the same function", hasStart, start, hasInit, init)
	}
}

func TestOneCompiledModuleServesManyHosts(t *testing.T) {
	before := vmStats.compiles
	for range 5 {
		p := startPlugin(t, exampleConfig)
		x := p.send(crossOrigin("GET", app))
		x.respond(200, plainUpstream...)
		p.close()
	}
	// One compilation at most: the first test to run compiles the module.
	if n := vmStats.compiles - before; n > 1 {
		t.Errorf("the module was compiled %d times for 5 hosts, want at most once", n)
	}
}
