//go:build !wasip1

package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("no go.mod in %s: %w", root, err)
	}
	dir, err := os.MkdirTemp("", "corswasm-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "module.wasm")
	args := []string{"build", "-buildmode=c-shared", "-ldflags=-s -w", "-trimpath", "-o", out, pkg}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building %s (GOOS=wasip1 GOARCH=wasm go %q in %s): %v\n%s", pkg, args, root, err, output.String())
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "bench: built %s in %v\n", pkg, time.Since(start).Round(time.Millisecond))
	}
	if *wasmOpt != "" {
		opt := exec.Command("wasm-opt", append(strings.Fields(*wasmOpt), out, "-o", out)...)
		if b, err := opt.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("wasm-opt %s %s: %v\n%s", *wasmOpt, pkg, err, b)
		}
	}
	return os.ReadFile(out)
}
