//go:build !wasip1

package wasmhost

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmbuild"

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
	code, err := wasmbuild.Plugin(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "wasmhost: %v\n", err)
		os.Exit(1)
	}
	pluginWasm = code
	status := m.Run()
	cache.Close(context.Background())
	os.Exit(status)
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
