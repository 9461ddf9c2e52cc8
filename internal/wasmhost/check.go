//go:build !wasip1

package wasmhost

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// abiVersion is the proxy-wasm ABI a module declares with its marker export.
type abiVersion int

const (
	abi010 abiVersion = iota + 1
	abi020
	abi021
)

// abiMarkers maps the marker exports Envoy accepts to their ABI version,
// newest first.
var abiMarkers = []struct {
	name    string
	version abiVersion
}{
	{"proxy_abi_version_0_2_1", abi021},
	{"proxy_abi_version_0_2_0", abi020},
	{"proxy_abi_version_0_1_0", abi010},
}

// sig is a function signature.
type sig struct{ params, results []api.ValueType }

func (s sig) String() string {
	return "(" + typeNames(s.params) + ") -> (" + typeNames(s.results) + ")"
}

func typeNames(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

func (s sig) matches(def api.FunctionDefinition) bool {
	return slices.Equal(s.params, def.ParamTypes()) && slices.Equal(s.results, def.ResultTypes())
}

func defSig(def api.FunctionDefinition) sig {
	return sig{def.ParamTypes(), def.ResultTypes()}
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// words is a signature of n i32 parameters and the given results.
func words(n int, results ...api.ValueType) sig {
	return sig{params: slices.Repeat([]api.ValueType{i32}, n), results: results}
}

// callbackSigs are the signatures of the callbacks the host calls, for ABI
// 0.2.x (0.1.0's header callbacks lack the end-of-stream parameter).
var callbackSigs = map[string]sig{
	"_initialize":               words(0),
	"malloc":                    words(1, i32),
	"proxy_on_memory_allocate":  words(1, i32),
	"proxy_on_context_create":   words(2),
	"proxy_on_vm_start":         words(2, i32),
	"proxy_on_configure":        words(2, i32),
	"proxy_on_request_headers":  words(3, i32),
	"proxy_on_response_headers": words(3, i32),
	"proxy_on_done":             words(1, i32),
	"proxy_on_log":              words(1),
	"proxy_on_delete":           words(1),
}

// checkModule checks a compiled module against what the host requires before
// it instantiates it, and returns the module's ABI version. The error names
// every problem.
func checkModule(c wazero.CompiledModule, p Profile, provided map[string]sig) (abiVersion, error) {
	var problems []string
	exports := c.ExportedFunctions()

	var version abiVersion
	for _, m := range abiMarkers {
		if _, ok := exports[m.name]; ok {
			version = m.version
			break
		}
	}
	if version == 0 {
		problems = append(problems, `it exports no ABI marker (proxy_abi_version_0_2_1, _0_2_0 or _0_1_0); Envoy refuses it: "Missing or unknown Proxy-Wasm ABI version"`)
	}
	if _, ok := exports["_start"]; ok {
		problems = append(problems, "it exports _start: it is a WASI command, not a reactor (build it with -buildmode=c-shared)")
	}
	if _, ok := exports["_initialize"]; !ok {
		problems = append(problems, "it exports no _initialize: it is not a WASI reactor (build it with -buildmode=c-shared)")
	}
	_, hasMalloc := exports["malloc"]
	_, hasAlloc := exports["proxy_on_memory_allocate"]
	if !hasMalloc && !hasAlloc {
		problems = append(problems, `it exports no allocator (malloc or proxy_on_memory_allocate); Envoy refuses it: "Wasm module is missing malloc function"`)
	}
	if len(c.ImportedMemories()) > 0 {
		problems = append(problems, "it imports its memory; the host requires an exported memory")
	} else if _, ok := c.ExportedMemories()["memory"]; !ok {
		problems = append(problems, `it exports no memory named "memory"`)
	}

	names := make([]string, 0, len(callbackSigs))
	for name := range callbackSigs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		def, ok := exports[name]
		if !ok {
			continue
		}
		want := callbackSigs[name]
		if version == abi010 && (name == "proxy_on_request_headers" || name == "proxy_on_response_headers") {
			want = words(2, i32)
		}
		if !want.matches(def) {
			problems = append(problems, fmt.Sprintf("its export %s has the signature %s, the host calls it as %s (Envoy: \"Bad function signature\")", name, defSig(def), want))
		}
	}

	var missing []string
	for _, def := range c.ImportedFunctions() {
		module, name, _ := def.Import()
		key := name
		if module != "env" {
			key = module + "." + name
		}
		want, ok := provided[key]
		if module == "env" && name == "proxy_get_log_level" && version != abi021 {
			ok = false // cpp-host registers it for ABI 0.2.1 only
		}
		switch {
		case !ok:
			missing = append(missing, module+"."+name)
		case !want.matches(def):
			problems = append(problems, fmt.Sprintf("its import %s.%s has the signature %s, the host provides %s", module, name, defSig(def), want))
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("it imports functions the %s host does not provide: %s (Envoy: \"Failed to load Wasm module due to a missing import\")", p, strings.Join(missing, ", ")))
	}

	if len(problems) == 0 {
		return version, nil
	}
	errs := make([]error, len(problems))
	for i, msg := range problems {
		errs[i] = errors.New("wasmhost: module refused: " + msg)
	}
	return version, errors.Join(errs...)
}
