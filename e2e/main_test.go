// Package e2e runs the real, compiled plugin.wasm under the host emulator of
// github.com/tetratelabs/proxy-wasm-go-sdk (proxytest), in wazero.
//
// The module is the release build of package testmodule (built once per
// test binary, on first use), in an in-memory copy in which the reactor's
// _initialize is also exported as _start, because
// proxytest.NewWasmVMContext only runs _start, and env.proxy_get_log_level,
// which the emulator lacks, is defined inside the module (answering trace,
// so that the module logs every line and the tests see them all).
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
	"github.com/corswasm/corswasm/internal/wasishim"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// moduleForTests returns plugin.wasm with _initialize also exported as
// _start and proxy_get_log_level defined inside it, made once.
var moduleForTests = sync.OnceValues(func() ([]byte, error) {
	code, err := testmodule.Module(testmodule.Release)
	if err != nil {
		return nil, err
	}
	if code, _, err = wasishim.Define(code, []wasishim.Function{logLevelTrace}); err != nil {
		return nil, fmt.Errorf("defining proxy_get_log_level in plugin.wasm: %w", err)
	}
	return exportInitializeAsStart(code)
})

// logLevelTrace is proxy_get_log_level(return_level) -> status for the
// emulator: it stores 0 (trace) and returns 0 (OK).
var logLevelTrace = wasishim.Function{
	Module:  "env",
	Name:    "proxy_get_log_level",
	Params:  []wasm.ValueType{wasm.ValueTypeI32},
	Results: []wasm.ValueType{wasm.ValueTypeI32},
	Body: []byte{
		wasm.OpcodeLocalGet, 0,
		wasm.OpcodeI32Const, 0,
		wasm.OpcodeI32Store, 2, 0, // align 4, offset 0
		wasm.OpcodeI32Const, 0,
		wasm.OpcodeEnd,
	},
}

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
