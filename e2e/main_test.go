// Package e2e runs the real, compiled plugin.wasm under the host emulator of
// github.com/tetratelabs/proxy-wasm-go-sdk (proxytest), in wazero.
//
// TestMain builds the module once per test binary with the release command,
// then makes an in-memory copy in which the reactor's _initialize is also
// exported as _start, because proxytest.NewWasmVMContext only runs _start.
// One compiled VM is shared by every test (see vm.go); the emulator keeps
// global state, so tests never run in parallel.
package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/wasmbuild"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// moduleForTests is plugin.wasm with _initialize also exported as _start.
var moduleForTests []byte

func TestMain(m *testing.M) {
	flag.Parse()
	log.SetFlags(0)
	log.SetOutput(emulatorLog) // the emulator logs every proxy_log call through package log

	code, err := buildAndPrepare()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	moduleForTests = code

	status := m.Run()
	releaseVM()
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: module compiled %d time(s), %v in total\n", vmStats.compiles, vmStats.compileTime.Round(time.Millisecond))
	}
	os.Exit(status)
}

func buildAndPrepare() ([]byte, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "corswasm-e2e-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "plugin.wasm")
	if err := buildModule(root, out); err != nil {
		return nil, err
	}
	plain, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	return exportInitializeAsStart(plain)
}

// repoRoot walks up from the package directory (the test's working
// directory) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the e2e package directory")
		}
		dir = parent
	}
}

// buildModule runs the release build: exactly the command the README and CI
// use, from the repository root.
func buildModule(root, out string) error {
	return wasmbuild.Build(context.Background(), root, ".", out)
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
