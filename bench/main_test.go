//go:build !wasip1

package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/corswasm/corswasm/internal/testmodule"
)

// wasmOpt, when set, runs Binaryen's wasm-opt with these flags on both
// modules after the build, to measure an optimized module, e.g.
// -wasmopt="-Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int".
var wasmOpt = flag.String("wasmopt", "", "run wasm-opt with these flags on both modules after building them")

// The modules under test: plugin.wasm as it is released and the floor
// module, each built once per test binary (package testmodule), then put
// through wasm-opt under -wasmopt. The shared compilation cache
// (testmodule.Cache) compiles each once for every VM of the test binary.
func pluginWasm(tb testing.TB) []byte { return module(tb, testmodule.Release) }
func floorWasm(tb testing.TB) []byte  { return module(tb, testmodule.Floor) }

// bareFloorWasm is the bare Go floor of the request without Origin
// (bench/barefloor).
func bareFloorWasm(tb testing.TB) []byte { return module(tb, testmodule.BareFloor) }

var optimized sync.Map // testmodule.Variant -> func() ([]byte, error)

// module returns variant v, optimized under -wasmopt.
func module(tb testing.TB, v testmodule.Variant) []byte {
	tb.Helper()
	code := testmodule.Get(tb, v)
	if *wasmOpt == "" {
		return code
	}
	f, _ := optimized.LoadOrStore(v, sync.OnceValues(func() ([]byte, error) { return optimize(v, code) }))
	opt, err := f.(func() ([]byte, error))()
	if err != nil {
		tb.Fatal(err)
	}
	return opt
}

// optimize runs wasm-opt with -wasmopt's flags on code.
func optimize(v testmodule.Variant, code []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "corswasm-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "module.wasm")
	if err := os.WriteFile(out, code, 0o644); err != nil {
		return nil, err
	}
	opt := exec.Command("wasm-opt", append(strings.Fields(*wasmOpt), out, "-o", out)...)
	if b, err := opt.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("wasm-opt %s on the %v module: %v\n%s", *wasmOpt, v, err, b)
	}
	return os.ReadFile(out)
}
