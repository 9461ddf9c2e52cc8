//go:build !wasip1

package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// pluginWasm is the real plugin, built once by TestMain with the release
// command; cache compiles it once for every test.
var (
	pluginWasm []byte
	cache      = wazero.NewCompilationCache()
)

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := buildPlugin()
	if err != nil {
		fmt.Fprintf(os.Stderr, "wasmhost: %v\n", err)
		os.Exit(1)
	}
	pluginWasm = code
	status := m.Run()
	cache.Close(context.Background())
	os.Exit(status)
}

// buildPlugin runs the release build from the repository root into a
// temporary directory and returns the module.
func buildPlugin() ([]byte, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("no go.mod in %s: %w", root, err)
	}
	dir, err := os.MkdirTemp("", "wasmhost-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "plugin.wasm")
	args := []string{"build", "-buildmode=c-shared", "-ldflags=-s -w", "-trimpath", "-o", out, "."}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building plugin.wasm (GOOS=wasip1 GOARCH=wasm go %q in %s): %v\n%s", args, root, err, output.String())
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "wasmhost: built plugin.wasm in %v\n", time.Since(start).Round(time.Millisecond))
	}
	return os.ReadFile(out)
}

// newVM starts a VM of the module with the shared compilation cache and
// closes it when the test ends.
func newVM(t testing.TB, wasm []byte, opts Options) *VM {
	t.Helper()
	opts.Cache = cache
	vm, err := New(context.Background(), wasm, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := vm.Close(context.Background()); err != nil && !errors.Is(err, ErrFailed) {
			t.Errorf("Close: %v", err)
		}
	})
	return vm
}
