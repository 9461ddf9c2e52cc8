//go:build !wasip1

package main

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"

	"github.com/corswasm/corswasm/internal/proxyabi"
	"github.com/corswasm/corswasm/internal/wasishim"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

// Report is what Check finds in a module.
type Report struct {
	Size    int
	ABI     string   // the proxy_abi_version_* export, "" if none
	Imports []string // "module.name", in module order
	Exports []string // export names, in module order

	// Problems make the module unfit for Envoy (or for the e2e emulator);
	// each names the offender and how to fix it.
	Problems []string
	// Notes are facts worth knowing that do not fail the check.
	Notes []string

	// Envoy says, for each band of Envoy releases (newest first), whether
	// the module loads and serves there.
	Envoy []Band
	// Supported is the range of Envoy releases the module runs on, from the
	// oldest band on whose host it and every newer band's serve: "Envoy
	// 1.28 and newer"; "" when not even the newest band's.
	Supported string
}

// Band is what one band of Envoy releases, which share the WASI functions
// their proxy-wasm host provides, makes of the module.
type Band struct {
	Versions string // "1.33-1.38"
	Serves   bool   // it loads, and no host function it relies on is a stub that fails
	Why      string // "loads", or what stops it
}

// envoyBands are the bands, newest first, with the wasmhost profile that
// models each (the one account of their WASI functions in this
// repository). The tests of cpphost/ run the plugin on proxy-wasm-cpp-host
// at the commits these releases embed, down to Envoy 1.28; older releases
// are not verified, so the oldest band starts there.
var envoyBands = []struct {
	versions string
	profile  wasmhost.Profile
}{
	{"1.39+", wasmhost.Envoy139},
	{"1.33-1.38", wasmhost.Envoy133to138},
	{"1.28-1.32", wasmhost.Envoy132},
}

// OK says whether the module passed.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

const (
	wasiModule = "wasi_snapshot_preview1"
	envModule  = "env"
)

// sig is a function signature, as the ABI's table (package proxyabi) writes it.
type sig = proxyabi.Sig

// abiVersions are the ABI marker exports Envoy accepts for this module.
var abiVersions = []string{proxyabi.ABI021, proxyabi.ABI020}

// requiredExports are the callbacks the plugin needs (proxy-wasm ABI 0.2.1;
// Envoy checks their signatures, proxyabi.Callbacks, at load).
var requiredExports = []string{
	"_initialize",
	"proxy_on_memory_allocate",
	"proxy_on_context_create",
	"proxy_on_vm_start",
	"proxy_on_configure",
	"proxy_on_request_headers",
	"proxy_on_response_headers",
	"proxy_on_delete",
}

// forbiddenExports would make Envoy enter the VM for nothing: for every
// body chunk or trailer, or once more per stream.
var forbiddenExports = map[string]string{
	"proxy_on_done":              "remove the //go:wasmexport: Envoy would call into the VM once more per stream (a host treats a missing proxy_on_done as done; a stream's end is proxy_on_delete)",
	"proxy_on_log":               "remove the //go:wasmexport: Envoy would call into the VM once more per stream, for its access log",
	"_start":                     "a command module: build with -buildmode=c-shared so that the module is a reactor (exports _initialize)",
	"proxy_on_request_body":      "remove the //go:wasmexport: Envoy would call into the VM for every request body chunk",
	"proxy_on_response_body":     "remove the //go:wasmexport: Envoy would call into the VM for every response body chunk",
	"proxy_on_request_trailers":  "remove the //go:wasmexport: Envoy would call into the VM for request trailers",
	"proxy_on_response_trailers": "remove the //go:wasmexport: Envoy would call into the VM for response trailers",
	"proxy_on_request_metadata":  "remove the //go:wasmexport: Envoy would call into the VM for request metadata",
	"proxy_on_response_metadata": "remove the //go:wasmexport: Envoy would call into the VM for response metadata",
}

// emulatorLacks are host functions the SDK's wazero emulator
// (proxytest.NewWasmVMContext), which runs the e2e tests, does not provide:
// a module importing one cannot be instantiated there. It lacks
// proxy_get_log_level too, which the plugin imports: the e2e harness
// defines that one inside its copy of the module (e2e/main_test.go).
var emulatorLacks = []string{
	"proxy_get_status", "proxy_get_header_map_size",
	"proxy_get_buffer_status", "proxy_grpc_call", "proxy_grpc_stream",
	"proxy_grpc_send", "proxy_grpc_cancel", "proxy_grpc_close",
	"proxy_get_current_time_nanoseconds",
}

// wasip1 is every wasi_snapshot_preview1 function; Envoy 1.39+ provides them all.
var wasip1 = []string{
	"args_get", "args_sizes_get", "environ_get", "environ_sizes_get",
	"clock_res_get", "clock_time_get", "fd_advise", "fd_allocate", "fd_close",
	"fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_fdstat_set_rights",
	"fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
	"fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir",
	"fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
	"path_create_directory", "path_filestat_get", "path_filestat_set_times",
	"path_link", "path_open", "path_readlink", "path_remove_directory",
	"path_rename", "path_symlink", "path_unlink_file", "poll_oneoff", "proc_exit",
	"proc_raise", "sched_yield", "random_get", "sock_accept", "sock_recv",
	"sock_send", "sock_shutdown",
}

// allowedWASI are the WASI functions a module built by Go with only the
// packages this project allows imports (no os, fmt, log, encoding/json),
// once the post-link step (cmd/postlink) has defined sched_yield and
// poll_oneoff inside it.
var allowedWASI = []string{
	"proc_exit", "args_get", "args_sizes_get", "clock_time_get",
	"environ_get", "environ_sizes_get", "fd_write", "random_get",
}

// Check decodes a module and checks it against what Envoy's proxy-wasm host
// and the project require. An error means bin is not a module at all.
func Check(bin []byte) (*Report, error) {
	m, err := binary.DecodeModule(bin, wasm.CoreFeaturesV2)
	if err != nil {
		return nil, err
	}
	r := &Report{Size: len(bin)}
	r.checkExports(m)
	r.checkImports(m)
	return r, nil
}

func (r *Report) problem(msg string) { r.Problems = append(r.Problems, msg) }

func (r *Report) checkExports(m *wasm.Module) {
	exports := map[string]*wasm.Export{}
	for _, e := range m.ExportSection {
		exports[e.Name] = e
		r.Exports = append(r.Exports, e.Name)
	}

	for _, v := range abiVersions {
		if e, ok := exports[v]; ok && e.Type == wasm.ExternTypeFunc {
			r.ABI = v
			r.checkExportSig(m, e, proxyabi.Words(0))
			break
		}
	}
	if r.ABI == "" {
		r.problem("no proxy_abi_version_0_2_1 (or _0_2_0) function export: Envoy refuses the module (\"Missing or unknown Proxy-Wasm ABI version\"); export one with //go:wasmexport proxy_abi_version_0_2_1")
	}

	if e, ok := exports["memory"]; !ok || e.Type != wasm.ExternTypeMemory {
		r.problem("no \"memory\" export: the host cannot exchange data with the module; build with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared")
	}

	for _, name := range slices.Sorted(slices.Values(requiredExports)) {
		e, ok := exports[name]
		switch {
		case !ok && name == "_initialize":
			r.problem("no _initialize export: the module is not a WASI reactor; build with -buildmode=c-shared")
		case !ok:
			r.problem("missing export " + name + ": the plugin needs this callback; add a //go:wasmexport " + name + " in package abi")
		case e.Type != wasm.ExternTypeFunc:
			r.problem("export " + name + " is not a function")
		default:
			r.checkExportSig(m, e, proxyabi.Callbacks[name])
		}
	}

	for _, name := range sortedKeys(forbiddenExports) {
		if _, ok := exports[name]; ok {
			r.problem("unwanted export " + name + ": " + forbiddenExports[name])
		}
	}
	for _, e := range m.ExportSection {
		req := slices.Contains(requiredExports, e.Name)
		_, bad := forbiddenExports[e.Name]
		if strings.HasPrefix(e.Name, "proxy_on_") && !req && !bad {
			r.Notes = append(r.Notes, "extra callback export "+e.Name+" (not needed by the plugin; Envoy checks its signature at load)")
		}
	}
}

// checkExportSig reports an exported function whose signature differs from want.
func (r *Report) checkExportSig(m *wasm.Module, e *wasm.Export, want sig) {
	got, ok := funcSig(m, e.Index)
	if !ok {
		r.problem("export " + e.Name + ": cannot find its function type")
		return
	}
	if !want.Equal(got.Params, got.Results) {
		r.problem("export " + e.Name + " has signature " + sig{Params: got.Params, Results: got.Results}.String() + ", the ABI wants " + want.String() + ": Envoy refuses it (\"Bad function signature\"); fix the Go signature (uint32 for i32, int64/uint64 for i64)")
	}
}

// funcSig returns the type of function idx (imports first, then the module's own).
func funcSig(m *wasm.Module, idx wasm.Index) (*wasm.FunctionType, bool) {
	var typeIdx wasm.Index
	imported := wasm.Index(0)
	found := false
	for _, imp := range m.ImportSection {
		if imp.Type != wasm.ExternTypeFunc {
			continue
		}
		if imported == idx {
			typeIdx, found = imp.DescFunc, true
			break
		}
		imported++
	}
	if !found {
		local := idx - m.ImportFuncCount()
		if idx < m.ImportFuncCount() || int(local) >= len(m.FunctionSection) {
			return nil, false
		}
		typeIdx = m.FunctionSection[local]
	}
	if int(typeIdx) >= len(m.TypeSection) {
		return nil, false
	}
	return m.TypeSection[typeIdx], true
}

func (r *Report) checkImports(m *wasm.Module) {
	var wasi []string
	for _, imp := range m.ImportSection {
		name := imp.Module + "." + imp.Name
		r.Imports = append(r.Imports, name)
		if imp.Type != wasm.ExternTypeFunc {
			r.problem("import " + name + " is a " + wasm.ExternTypeName(imp.Type) + ", not a function: Envoy provides only functions")
			continue
		}
		switch imp.Module {
		case wasiModule:
			wasi = append(wasi, imp.Name)
			switch {
			case !slices.Contains(wasip1, imp.Name):
				r.problem("import " + name + " is not a wasip1 function: no host provides it")
			case slices.Contains(wasishim.Names(), imp.Name):
				r.problem("import " + name + ": Envoy 1.28-1.32 lack it and refuse the module, and Envoy 1.33-1.38 stub poll_oneoff so that Go's runtime dies at its first timer wait; run the post-link step that defines it inside the module: go run ./cmd/postlink " + "MODULE.wasm (make build does)")
			case !slices.Contains(allowedWASI, imp.Name):
				r.problem("import " + name + " is not among the WASI functions a module of this project may use (" + strings.Join(allowedWASI, ", ") + "): some package pulls in os or file APIs (fmt, log, encoding/json, os, ...); remove that import from the wasm build")
			}
		case envModule:
			want, ok := proxyabi.HostFunctions[imp.Name]
			switch {
			case !ok:
				r.problem("import " + name + " is not a proxy-wasm host function Envoy provides: Envoy refuses the module (\"missing import\"); fix the //go:wasmimport name")
			case slices.Contains(emulatorLacks, imp.Name):
				r.problem("import " + name + " is not provided by the SDK emulator (proxytest) the e2e tests run on: the module cannot be instantiated there; do without it")
			}
			if ok && int(imp.DescFunc) < len(m.TypeSection) {
				got := m.TypeSection[imp.DescFunc]
				if !want.Equal(got.Params, got.Results) {
					r.problem("import " + name + " has signature " + sig{Params: got.Params, Results: got.Results}.String() + ", the host's is " + want.String() + ": Envoy refuses it (\"Bad function signature\"); fix the //go:wasmimport declaration")
				}
			}
		default:
			r.problem("import " + name + " is from module " + strconv.Quote(imp.Module) + ": a proxy-wasm host provides only " + envModule + " and " + wasiModule + " (was the module built with GOOS=js?)")
		}
	}

	r.envoyBands(wasi)
}

// envoyBands fills r.Envoy and r.Supported from the WASI functions the
// module imports.
func (r *Report) envoyBands(wasi []string) {
	for _, b := range envoyBands {
		band := Band{Versions: b.versions, Serves: true, Why: "loads"}
		switch missing := lacking(b.profile, wasi); {
		case len(missing) > 0:
			band.Serves = false
			band.Why = "refused at load: it lacks " + strings.Join(missing, ", ")
		case b.profile == wasmhost.Envoy133to138 && slices.Contains(wasi, "poll_oneoff"):
			band.Serves = false
			band.Why = "loads, but poll_oneoff is a stub there that fails with ENOSYS: the first time Go's runtime waits on a timer the VM dies (\"poll_oneoff failed\", golang/go#78513)"
		}
		r.Envoy = append(r.Envoy, band)
	}
	for _, b := range r.Envoy {
		if !b.Serves {
			break
		}
		oldest, _, _ := strings.Cut(b.Versions, "-")
		r.Supported = "Envoy " + strings.TrimSuffix(oldest, "+") + " and newer"
	}
}

// lacking returns the WASI functions in names that profile does not provide.
func lacking(profile wasmhost.Profile, names []string) []string {
	var out []string
	for _, n := range names {
		if !profile.ProvidesWASI(n) {
			out = append(out, n)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
