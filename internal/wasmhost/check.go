//go:build !wasip1

package wasmhost

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/corswasm/corswasm/internal/proxyabi"

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
	{proxyabi.ABI021, abi021},
	{proxyabi.ABI020, abi020},
	{proxyabi.ABI010, abi010},
}

// sig is a function signature, as the ABI's table (package proxyabi) writes it.
type sig = proxyabi.Sig

func matches(s sig, def api.FunctionDefinition) bool {
	return s.Equal(def.ParamTypes(), def.ResultTypes())
}

func defSig(def api.FunctionDefinition) sig {
	return sig{Params: def.ParamTypes(), Results: def.ResultTypes()}
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

	for _, name := range slices.Sorted(maps.Keys(proxyabi.Callbacks)) {
		def, ok := exports[name]
		if !ok {
			continue
		}
		want := proxyabi.Callbacks[name]
		if version == abi010 && (name == "proxy_on_request_headers" || name == "proxy_on_response_headers") {
			want = proxyabi.HeaderCallbacks010
		}
		if !matches(want, def) {
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
		case !matches(want, def):
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
