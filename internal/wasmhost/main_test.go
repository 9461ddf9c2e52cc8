//go:build !wasip1

package wasmhost

import (
	"context"
	"errors"
	"testing"

	"github.com/corswasm/corswasm/internal/testmodule"
)

// pluginWasm returns the real plugin, built once per test binary with the
// release command.
func pluginWasm(tb testing.TB) []byte { return testmodule.Get(tb, testmodule.Release) }

// newVM starts a VM of the module with the shared compilation cache and
// closes it when the test ends.
func newVM(t testing.TB, wasm []byte, opts Options) *VM {
	t.Helper()
	opts.Cache = testmodule.Cache()
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
