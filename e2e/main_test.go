// Package e2e runs the real, compiled plugin.wasm under the host emulator of
// github.com/tetratelabs/proxy-wasm-go-sdk (proxytest), in wazero.
//
// The module is the release build of package testmodule (built once per
// test binary, on first use), in an in-memory copy in which the reactor's
// _initialize is also exported as _start, because
// proxytest.NewWasmVMContext only runs _start.
// One compiled VM is shared by every test (see vm.go); the emulator keeps
// global state, so tests never run in parallel.
package e2e

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/testmodule"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// moduleForTests returns plugin.wasm with _initialize also exported as
// _start, made once.
var moduleForTests = sync.OnceValues(func() ([]byte, error) {
	code, err := testmodule.Module(testmodule.Release)
	if err != nil {
		return nil, err
	}
	return exportInitializeAsStart(code)
})

func TestMain(m *testing.M) {
	flag.Parse()
	log.SetFlags(0)
	log.SetOutput(emulatorLog) // the emulator logs every proxy_log call through package log

	status := m.Run()
	releaseVM()
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: module compiled %d time(s), %v in total\n", vmStats.compiles, vmStats.compileTime.Round(time.Millisecond))
	}
	os.Exit(status)
}

// exportInitializeAsStart returns a copy of a reactor module in which the
// function exported as _initialize is also exported as _start. The copy only
// ever lives in memory.
func exportInitializeAsStart(code []byte) ([]byte, error) {
	mod, err := binary.DecodeModule(code, wasm.CoreFeaturesV2)
	if err != nil {
		return nil, fmt.Errorf("decoding plugin.wasm: %w", err)
	}
	var init *wasm.Export
	for _, e := range mod.ExportSection {
		switch {
		case e.Name == "_start":
			return nil, errors.New("plugin.wasm already exports _start: it is a command, not a reactor (build with -buildmode=c-shared)")
		case e.Name == "_initialize" && e.Type == wasm.ExternTypeFunc:
			init = e
		}
	}
	if init == nil {
		return nil, errors.New("plugin.wasm exports no _initialize function: it is not a WASI reactor (build with -buildmode=c-shared)")
	}
	mod.ExportSection = append(mod.ExportSection, &wasm.Export{Name: "_start", Type: wasm.ExternTypeFunc, Index: init.Index})
	return binary.EncodeModule(mod), nil
}
