//go:build !wasip1

package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmbuild"

	"github.com/tetratelabs/wazero"
)

// The modules under test, built once by TestMain with the release command;
// cache compiles each of them once for every VM of the test binary.
var (
	pluginWasm []byte
	floorWasm  []byte
	cache      = wazero.NewCompilationCache()
)

// wasmOpt, when set, runs Binaryen's wasm-opt with these flags on both
// modules after the build, to measure an optimized module, e.g.
// -wasmopt="-Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int".
var wasmOpt = flag.String("wasmopt", "", "run wasm-opt with these flags on both modules after building them")

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if pluginWasm, err = buildModule("."); err == nil {
		floorWasm, err = buildModule("./bench/floor")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	status := m.Run()
	cache.Close(context.Background())
	os.Exit(status)
}

// buildModule builds the package pkg (relative to the repository root) as
// plugin.wasm is released, into a temporary directory, and returns the
// module.
func buildModule(pkg string) ([]byte, error) {
	root, err := wasmbuild.ModuleRoot("..")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "corswasm-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "module.wasm")
	if err := wasmbuild.Build(context.Background(), root, pkg, out); err != nil {
		return nil, err
	}
	if *wasmOpt != "" {
		opt := exec.Command("wasm-opt", append(strings.Fields(*wasmOpt), out, "-o", out)...)
		if b, err := opt.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("wasm-opt %s %s: %v\n%s", *wasmOpt, pkg, err, b)
		}
	}
	return os.ReadFile(out)
}
