package e2e

import (
	"fmt"
	"os"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// One compiled module instance serves every test: compiling costs most of a
// second, a new emulator costs nothing. proxytest.NewWasmVMContext compiles
// and instantiates the module once; the WasmVMContext it returns holds no
// emulator state of its own (every host call goes through whichever emulator
// is registered at the time), so it can be handed to one emulator after
// another. What the module keeps between emulators is its own Go state: the
// plugin and stream contexts it was told about.
//
// The emulator always names its plugin context 1, which in a long-lived module
// would mean re-creating a context ID that is still alive, something Envoy
// never does. So each emulator gets a moduleVM view that maps the emulator's
// plugin context to a fresh module-side ID (HTTP context IDs already come from
// one process-wide counter in proxytest and never repeat).
//
// Metrics need care. Envoy keeps a VM's metric definitions for the VM's
// lifetime, and the plugin defines each metric name once per VM; a new
// emulator starts with none, so a counter the module defined in an earlier
// emulator would be unknown in this one. Every emulator of the shared module
// therefore defines the plugin's counters first, always in the order of
// counterNames, then the per-policy counters the module has defined so far,
// in the order it defined them (policyMetrics): the emulator numbers metrics
// in order of definition and returns the existing ID when the module defines
// a name again, so the IDs the module holds stay right in every emulator.
// (The emulator calls proxy_on_vm_start with no plugin context, so the
// module cannot tell a new emulator from the old one. Tests of the module's
// own definitions use a module instance of their own: see withOwnModule.)
//
// A trap or a Go panic inside the module leaves its runtime in an unknown
// state; the harness then drops the instance and the next test compiles a new
// one.
type sharedModule struct {
	vm         proxytest.WasmVMContext
	nextRootID uint32
	broken     bool
	// policyMetrics are the per-policy counters the module has defined,
	// in order.
	policyMetrics []string
}

// Module-side plugin context IDs start far above the HTTP context IDs that
// proxytest hands out (2, 3, 4, ...), so the two never collide.
const firstRootID = 1 << 30

var (
	current *sharedModule
	vmStats struct {
		compiles    int
		compileTime time.Duration
	}
)

// acquireModule returns the shared module instance, compiling a new one if
// there is none or the last one broke.
func acquireModule() (*sharedModule, error) {
	if current != nil && !current.broken {
		return current, nil
	}
	releaseVM()
	m, err := newModule()
	if err != nil {
		return nil, err
	}
	current = m
	return current, nil
}

// newModule compiles and instantiates the module (running _initialize).
func newModule() (*sharedModule, error) {
	code, err := moduleForTests()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	vm, err := proxytest.NewWasmVMContext(code)
	if err != nil {
		return nil, fmt.Errorf("instantiating the module in wazero: %w", err)
	}
	vmStats.compiles++
	vmStats.compileTime += time.Since(start)
	return &sharedModule{vm: vm, nextRootID: firstRootID}, nil
}

func releaseVM() {
	if current != nil {
		if err := current.vm.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: closing the wazero runtime: %v\n", err)
		}
		current = nil
	}
}

// moduleVM is the types.VMContext one emulator sees.
type moduleVM struct {
	shared *sharedModule
	// attach, when set, is returned instead of creating a new plugin context:
	// the emulator then drives a plugin context some earlier emulator created
	// and configured.
	attach types.PluginContext
	// root is the plugin context this emulator created (or attached to).
	root   types.PluginContext
	rootID uint32
	// createFailure is what the module panicked or trapped with while
	// creating the plugin context, if it did.
	createFailure any
}

func (v *moduleVM) OnVMStart(vmConfigurationSize int) types.OnVMStartStatus {
	return v.shared.vm.OnVMStart(vmConfigurationSize)
}

// NewPluginContext runs inside proxytest.NewHostEmulator, after it took the
// emulator's global lock and before it returns the function that releases
// it: a panic here would keep the lock forever, so it is recorded instead.
func (v *moduleVM) NewPluginContext(uint32) (root types.PluginContext) {
	if v.attach != nil {
		v.root = v.attach
		return v.root
	}
	defer func() {
		if r := recover(); r != nil {
			v.createFailure = r
			v.shared.broken = true
			root = nil
		}
	}()
	v.shared.nextRootID++
	v.rootID = v.shared.nextRootID
	v.root = v.shared.vm.NewPluginContext(v.rootID)
	return v.root
}
