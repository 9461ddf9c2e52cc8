//go:build !wasip1

package wasmhost

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// Options configure a VM. The zero value is an Envoy 1.39+ host with no VM
// configuration, no environment and no compilation cache.
type Options struct {
	// Profile is the Envoy host to emulate.
	Profile Profile
	// Cache, when set, is the compilation cache of the VM's wazero runtime.
	// Share one (wazero.NewCompilationCache) between VMs, tests and
	// benchmarks to compile a module once.
	Cache wazero.CompilationCache
	// VMConfig is the VM configuration (Envoy's vm_config.configuration):
	// buffer type 6, whose size proxy_on_vm_start receives.
	VMConfig []byte
	// Env holds the VM's environment variables (Envoy's
	// vm_config.environment_variables), e.g. GOGC or GOMEMLIMIT.
	Env map[string]string
	// LogLevel is the level proxy_get_log_level reports (default LogTrace:
	// the module should log everything). The host keeps every line whatever
	// the level.
	LogLevel LogLevel
	// Log, when set, receives every line the module logs, as
	// "level: message\n", including what it writes to stdout (info) and
	// stderr (error), as Envoy logs them. It is called with the VM locked:
	// it must not call the VM.
	Log io.Writer
}

// ErrFailed is wrapped by every error a failed VM returns (see VM.Err).
var ErrFailed = errors.New("wasmhost: VM failed")

// errClosed is returned by the methods of a closed VM.
var errClosed = errors.New("wasmhost: VM closed")

// maxMemoryPages is Envoy's limit on a VM's linear memory: 1 GiB.
const maxMemoryPages = 1 << 14

// maxLogLines is how many lines VM.Logs keeps.
const maxLogLines = 1000

// phase is the part of a stream a host call belongs to, for Calls.
type phase int

const (
	phaseOther phase = iota
	phaseRequest
	phaseResponse
	numPhases
)

// A VM is one instance of a proxy-wasm module, with the host state Envoy
// keeps for it. Its methods, and those of its plugins and streams, may be
// called from several goroutines: they run one at a time.
type VM struct {
	mu       sync.Mutex
	ctx      context.Context
	profile  Profile
	vmConfig []byte
	logLevel LogLevel
	sink     io.Writer

	rt  wazero.Runtime
	mod api.Module
	abi abiVersion

	malloc, onContextCreate, onVMStart, onConfigure api.Function
	onRequestHeaders, onResponseHeaders             api.Function
	onDone, onLog, onDelete                         api.Function
	stack, allocStack                               [3]uint64

	failed   error
	closed   bool
	restrict restriction
	phase    phase

	// Host functions by index: their import names ("proxy_log",
	// "wasi_snapshot_preview1.fd_write"), what each restriction allows
	// (indexed by restriction), and the calls counted per phase.
	names   []string
	allowed [3][]bool
	calls   [numPhases][]uint64

	nextID  uint32
	plugins map[uint32]*Plugin

	// The context whose callback runs: a stream, or nil for a root context.
	stream *Stream
	// The plugin configuration, while proxy_on_configure runs.
	pluginConfig []byte
	configuring  bool
	// inLog is set while proxy_on_log runs: header maps are read-only then.
	inLog bool
	// capture, when set, also receives the lines logged by the running
	// callback.
	capture *[]LogLine

	props   map[string][]byte
	metrics metrics

	logs     []LogLine
	logStart int

	scratch []byte

	// faults, when set, may make proxy-wasm host calls fail (faults.go).
	faults *faultState

	// trace, when set, receives every proxy-wasm host call and callback
	// return (trace.go); callback is the export that runs, and mallocName
	// the allocator's export name.
	trace      func(TracedCall)
	callback   string
	mallocName string
	// timing, when set, sums the time of each callback (trace.go).
	timing callbackTimes
}

// New compiles the module (or finds it in Options.Cache), checks it against
// the host, links it and instantiates it, which runs its _initialize. The
// context is used for compilation and instantiation only. Close the VM when
// done with it.
func New(ctx context.Context, wasm []byte, opts Options) (*VM, error) {
	if !opts.Profile.valid() {
		return nil, fmt.Errorf("wasmhost: unknown host profile %d", opts.Profile)
	}
	cfg := wazero.NewRuntimeConfig().WithMemoryLimitPages(maxMemoryPages)
	if opts.Cache != nil {
		cfg = cfg.WithCompilationCache(opts.Cache)
	}
	vm := &VM{
		ctx:      context.Background(),
		profile:  opts.Profile,
		vmConfig: slices.Clone(opts.VMConfig),
		logLevel: opts.LogLevel,
		sink:     opts.Log,
		rt:       wazero.NewRuntimeWithConfig(ctx, cfg),
		nextID:   1,
		plugins:  map[uint32]*Plugin{},
		props:    map[string][]byte{},
	}
	if err := vm.load(ctx, wasm, opts.Env); err != nil {
		vm.rt.Close(ctx)
		return nil, err
	}
	return vm, nil
}

func (vm *VM) load(ctx context.Context, wasm []byte, env map[string]string) error {
	compiled, err := vm.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("wasmhost: compiling the module: %w", err)
	}
	envHost, wasiHost, provided, err := vm.hostModules(ctx)
	if err != nil {
		return err
	}
	if vm.abi, err = checkModule(compiled, vm.profile, provided); err != nil {
		return err
	}
	if _, err := envHost.Instantiate(ctx); err != nil {
		return fmt.Errorf("wasmhost: instantiating the env host module: %w", err)
	}
	if _, err := wasiHost.Instantiate(ctx); err != nil {
		return fmt.Errorf("wasmhost: instantiating the WASI host module: %w", err)
	}
	for r := range vm.allowed {
		vm.allowed[r] = make([]bool, len(vm.names))
		for i, name := range vm.names {
			vm.allowed[r][i] = vm.profile.allows(restriction(r), name)
		}
	}
	for p := range vm.calls {
		vm.calls[p] = make([]uint64, len(vm.names))
	}

	mc := wazero.NewModuleConfig().
		WithName("plugin").
		WithStartFunctions("_initialize").
		WithSysNanotime().WithSysWalltime().WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithStdout(logWriter{vm, LogInfo}).
		WithStderr(logWriter{vm, LogError})
	for _, k := range slices.Sorted(maps.Keys(env)) {
		mc = mc.WithEnv(k, env[k])
	}
	vm.restrict, vm.callback = inInitialize, "_initialize"
	mod, err := vm.rt.InstantiateModule(ctx, compiled, mc)
	vm.restrict, vm.callback = unrestricted, ""
	if err != nil {
		vm.fail(fmt.Errorf("_initialize failed: %w", exitError(err)))
		return vm.failed
	}
	vm.mod = mod
	vm.malloc, vm.mallocName = mod.ExportedFunction("malloc"), "malloc"
	if vm.malloc == nil {
		vm.malloc, vm.mallocName = mod.ExportedFunction("proxy_on_memory_allocate"), "proxy_on_memory_allocate"
	}
	vm.onContextCreate = mod.ExportedFunction("proxy_on_context_create")
	vm.onVMStart = mod.ExportedFunction("proxy_on_vm_start")
	vm.onConfigure = mod.ExportedFunction("proxy_on_configure")
	vm.onRequestHeaders = mod.ExportedFunction("proxy_on_request_headers")
	vm.onResponseHeaders = mod.ExportedFunction("proxy_on_response_headers")
	vm.onDone = mod.ExportedFunction("proxy_on_done")
	vm.onLog = mod.ExportedFunction("proxy_on_log")
	vm.onDelete = mod.ExportedFunction("proxy_on_delete")
	return nil
}

// exitError describes a proc_exit more plainly than wazero does.
func exitError(err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("the module called proc_exit(%d)", exit.ExitCode())
	}
	return err
}

// StartPlugin creates a root context for a plugin configuration, as Envoy
// does for each configuration it loads: proxy_on_context_create(root, 0),
// proxy_on_vm_start(root, VM configuration size), then
// proxy_on_configure(root, configuration size), during which the module
// reads config as buffer type 7. If the module refuses the configuration,
// the error holds the error lines it logged meanwhile, and the root context
// is deleted (proxy_on_done, proxy_on_delete).
func (vm *VM) StartPlugin(config []byte) (*Plugin, error) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if err := vm.usable(); err != nil {
		return nil, err
	}
	p := &Plugin{vm: vm, id: vm.newID()}
	var lines []LogLine
	vm.capture = &lines
	defer func() { vm.capture = nil }()

	if f := vm.onContextCreate; f != nil {
		if _, err := vm.call(f, "proxy_on_context_create", phaseOther, uint64(p.id), 0, 0); err != nil {
			return nil, err
		}
	}
	if f := vm.onVMStart; f != nil {
		ok, err := vm.call(f, "proxy_on_vm_start", phaseOther, uint64(p.id), uint64(len(vm.vmConfig)), 0)
		if err != nil {
			return nil, err
		}
		if uint32(ok) == 0 {
			vm.deleteRoot(p)
			return nil, fmt.Errorf("wasmhost: plugin start refused (proxy_on_vm_start returned false): %s", errorLines(lines))
		}
	}
	if f := vm.onConfigure; f != nil {
		vm.pluginConfig, vm.configuring = config, true
		ok, err := vm.call(f, "proxy_on_configure", phaseOther, uint64(p.id), uint64(len(config)), 0)
		vm.pluginConfig, vm.configuring = nil, false
		if err != nil {
			return nil, err
		}
		if uint32(ok) == 0 {
			vm.deleteRoot(p)
			return nil, fmt.Errorf("wasmhost: plugin configuration refused (proxy_on_configure returned false): %s", errorLines(lines))
		}
	}
	vm.plugins[p.id] = p
	return p, nil
}

// errorLines joins the messages of the lines logged at error level or above.
func errorLines(lines []LogLine) string {
	var msgs []string
	for _, l := range lines {
		if l.Level >= LogError {
			msgs = append(msgs, l.Message)
		}
	}
	if len(msgs) == 0 {
		return "the module logged no error"
	}
	return strings.Join(msgs, "; ")
}

// deleteRoot ends a root context: proxy_on_done, then proxy_on_delete.
// Envoy waits for proxy_done when proxy_on_done returns false; this host
// does not (it provides no proxy_done).
func (vm *VM) deleteRoot(p *Plugin) error {
	delete(vm.plugins, p.id)
	if f := vm.onDone; f != nil {
		if _, err := vm.call(f, "proxy_on_done", phaseOther, uint64(p.id), 0, 0); err != nil {
			return err
		}
	}
	if f := vm.onDelete; f != nil {
		if _, err := vm.call(f, "proxy_on_delete", phaseOther, uint64(p.id), 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// SetProperty sets the property at path (e.g. "xds", "route_name") for
// every stream; proxy_get_property receives the path's segments joined by
// NUL bytes. A nil value removes the property. Stream.SetProperty overrides
// it for one stream.
func (vm *VM) SetProperty(path []string, value []byte) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	setProperty(vm.props, path, value)
}

func setProperty(props map[string][]byte, path []string, value []byte) {
	key := strings.Join(path, "\x00")
	if value == nil {
		delete(props, key)
		return
	}
	props[key] = slices.Clone(value)
}

// Metrics returns the value of every metric the module defined, by name.
// A name defined several times is one metric, as in Envoy.
func (vm *VM) Metrics() map[string]int64 {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.metrics.values()
}

// Logs returns the last lines the module logged (at most 1000), oldest
// first.
func (vm *VM) Logs() []LogLine {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	out := make([]LogLine, 0, len(vm.logs))
	out = append(out, vm.logs[vm.logStart:]...)
	return append(out, vm.logs[:vm.logStart]...)
}

// ResetLogs forgets the lines Logs would return.
func (vm *VM) ResetLogs() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	clear(vm.logs)
	vm.logs, vm.logStart = vm.logs[:0], 0
}

// Calls returns the host calls counted since the VM was created or
// ResetCalls was last called.
func (vm *VM) Calls() Calls {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	snap := func(counts []uint64) PhaseCalls {
		pc := PhaseCalls{}
		for i, n := range counts {
			if n > 0 {
				pc[vm.names[i]] = int(n)
			}
		}
		return pc
	}
	return Calls{
		Request:  snap(vm.calls[phaseRequest]),
		Response: snap(vm.calls[phaseResponse]),
		Other:    snap(vm.calls[phaseOther]),
	}
}

// ResetCalls sets every host call count to zero.
func (vm *VM) ResetCalls() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	for _, c := range vm.calls {
		clear(c)
	}
}

// MemorySize is the size of the instance's linear memory in bytes (pages
// times 64 KiB). Go's heap grows it and never gives memory back.
func (vm *VM) MemorySize() uint32 {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.mod == nil || vm.closed {
		return 0
	}
	return vm.mod.Memory().Size()
}

// Err returns why the VM failed (a trap, a restricted call, proc_exit), or
// nil while it works. The error wraps ErrFailed.
func (vm *VM) Err() error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.failed
}

// Close deletes the plugins' root contexts that are still open (unless the
// VM failed), as Envoy does when it shuts a VM down, and releases the VM. It
// returns the first error of those callbacks.
func (vm *VM) Close(ctx context.Context) error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.closed {
		return nil
	}
	var first error
	if vm.failed == nil {
		for _, id := range slices.Sorted(maps.Keys(vm.plugins)) {
			if err := vm.deleteRoot(vm.plugins[id]); err != nil && first == nil {
				first = err
			}
		}
	}
	vm.closed = true
	if err := vm.rt.Close(ctx); err != nil && first == nil {
		first = fmt.Errorf("wasmhost: closing the wazero runtime: %w", err)
	}
	return first
}

// usable returns the error of a failed or closed VM.
func (vm *VM) usable() error {
	if vm.closed {
		return errClosed
	}
	return vm.failed
}

// newID allocates a context ID; root and stream contexts share the
// sequence, as in Envoy.
func (vm *VM) newID() uint32 {
	id := vm.nextID
	vm.nextID++
	return id
}

// call runs a callback with up to three arguments and returns its result
// (0 if it has none). A trap fails the VM.
func (vm *VM) call(f api.Function, name string, ph phase, a, b, c uint64) (uint64, error) {
	if err := vm.usable(); err != nil {
		return 0, err
	}
	vm.stack = [3]uint64{a, b, c}
	prev, prevCallback := vm.phase, vm.callback
	vm.phase, vm.callback = ph, name
	var start time.Time
	if vm.timing != nil {
		start = time.Now()
	}
	err := f.CallWithStack(vm.ctx, vm.stack[:])
	if vm.timing != nil {
		t := vm.timing.of(name)
		t.Calls++
		t.Total += time.Since(start)
	}
	vm.phase, vm.callback = prev, prevCallback
	if err != nil {
		vm.fail(fmt.Errorf("%s trapped: %w", name, exitError(err)))
		return 0, vm.failed
	}
	if vm.trace != nil {
		vm.traceReturn(f, name)
	}
	return vm.stack[0], nil
}

// fail records the VM's first failure.
func (vm *VM) fail(cause error) {
	if vm.failed == nil {
		vm.failed = fmt.Errorf("%w: %w", ErrFailed, cause)
	}
}

// errAbort is the panic that unwinds the module after a host function
// failed the VM; the callback that was running returns it as its error.
var errAbort = errors.New("wasmhost: host call aborted the module")

// enter runs at the start of every host function: it enforces the
// restricted phases and counts the call.
func (vm *VM) enter(fn int) {
	if vm.restrict != unrestricted && !vm.allowed[vm.restrict][fn] {
		vm.fail(fmt.Errorf("restricted_callback: %s called while %s", vm.names[fn], vm.restrict))
		panic(errAbort)
	}
	vm.calls[vm.phase][fn]++
}

// allocate gets size bytes of module memory from the module's allocator,
// which runs restricted. It returns 0 if the allocator did. A trap in the
// allocator fails the VM and aborts the host call.
func (vm *VM) allocate(size uint32) uint32 {
	if vm.malloc == nil {
		return 0
	}
	prev, prevCallback := vm.restrict, vm.callback
	vm.restrict, vm.callback = inAllocator, vm.mallocName
	vm.allocStack[0] = uint64(size)
	var start time.Time
	if vm.timing != nil {
		start = time.Now()
	}
	err := vm.malloc.CallWithStack(vm.ctx, vm.allocStack[:])
	if vm.timing != nil {
		// The allocator is guest time: it counts for itself, not for the
		// host function that called it.
		d := time.Since(start)
		t := vm.timing.of(vm.mallocName)
		t.Calls++
		t.Total += d
		vm.timing.of(prevCallback).Host -= d
	}
	vm.restrict, vm.callback = prev, prevCallback
	if err != nil {
		vm.fail(fmt.Errorf("the allocator trapped: %w", exitError(err)))
		panic(errAbort)
	}
	return uint32(vm.allocStack[0])
}

// LogLevel is a proxy-wasm log level.
type LogLevel uint32

// Log levels, as numbered by the ABI.
const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

var levelNames = [...]string{"trace", "debug", "info", "warn", "error", "critical"}

// String returns the level's name: "trace", "debug", "info", "warn",
// "error" or "critical".
func (l LogLevel) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}

// LogLine is one line the module logged.
type LogLine struct {
	Level   LogLevel
	Message string
}

// String returns "level: message".
func (l LogLine) String() string { return l.Level.String() + ": " + l.Message }

// addLog keeps a line the module logged.
func (vm *VM) addLog(level LogLevel, msg string) {
	l := LogLine{level, msg}
	if len(vm.logs) < maxLogLines {
		vm.logs = append(vm.logs, l)
	} else {
		vm.logs[vm.logStart] = l
		vm.logStart = (vm.logStart + 1) % maxLogLines
	}
	if vm.stream != nil {
		vm.stream.logs = append(vm.stream.logs, l)
	}
	if vm.capture != nil {
		*vm.capture = append(*vm.capture, l)
	}
	if vm.sink != nil {
		io.WriteString(vm.sink, l.String()+"\n")
	}
}

// logWriter turns what the module writes to stdout or stderr into log
// lines, one per write without its trailing newline, as Envoy does.
type logWriter struct {
	vm    *VM
	level LogLevel
}

func (w logWriter) Write(p []byte) (int, error) {
	w.vm.addLog(w.level, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
