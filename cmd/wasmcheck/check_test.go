//go:build !wasip1

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/proxyabi"
	"github.com/corswasm/corswasm/internal/testmodule"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

var (
	words    = proxyabi.Words
	i32, i64 = proxyabi.I32, proxyabi.I64
)

// module builds a module that imports and exports the given functions.
// Every function it defines is an empty body of the right type.
type module struct {
	imports []imp
	exports []exp
	noMem   bool
}

type imp struct {
	module, name string
	sig          sig
}

type exp struct {
	name string
	sig  sig
}

func (m module) encode() []byte {
	w := &wasm.Module{}
	typeOf := func(s sig) wasm.Index {
		for i, t := range w.TypeSection {
			if t.EqualsSignature(s.Params, s.Results) {
				return wasm.Index(i)
			}
		}
		w.TypeSection = append(w.TypeSection, &wasm.FunctionType{Params: s.Params, Results: s.Results})
		return wasm.Index(len(w.TypeSection) - 1)
	}
	for _, i := range m.imports {
		w.ImportSection = append(w.ImportSection, &wasm.Import{Type: wasm.ExternTypeFunc, Module: i.module, Name: i.name, DescFunc: typeOf(i.sig)})
	}
	for _, e := range m.exports {
		w.FunctionSection = append(w.FunctionSection, typeOf(e.sig))
		body := []byte{}
		for _, r := range e.sig.Results {
			if r == i64 {
				body = append(body, wasm.OpcodeI64Const, 0)
			} else {
				body = append(body, wasm.OpcodeI32Const, 0)
			}
		}
		w.CodeSection = append(w.CodeSection, &wasm.Code{Body: append(body, wasm.OpcodeEnd)})
		idx := wasm.Index(len(m.imports) + len(w.FunctionSection) - 1)
		w.ExportSection = append(w.ExportSection, &wasm.Export{Type: wasm.ExternTypeFunc, Name: e.name, Index: idx})
	}
	if !m.noMem {
		w.MemorySection = &wasm.Memory{Min: 1}
		w.ExportSection = append(w.ExportSection, &wasm.Export{Type: wasm.ExternTypeMemory, Name: "memory", Index: 0})
	}
	return binary.EncodeModule(w)
}

// good is a module shaped like the plugin.
func good() module {
	m := module{}
	for _, n := range allowedWASI {
		m.imports = append(m.imports, imp{wasiModule, n, words(1, i32)})
	}
	for _, n := range []string{"proxy_log", "proxy_get_header_map_pairs", "proxy_increment_metric"} {
		m.imports = append(m.imports, imp{envModule, n, proxyabi.HostFunctions[n]})
	}
	m.exports = append(m.exports, exp{"proxy_abi_version_0_2_1", words(0)})
	for _, n := range requiredExports {
		m.exports = append(m.exports, exp{n, proxyabi.Callbacks[n]})
	}
	return m
}

func (m module) without(name string) module {
	m.exports = slices.DeleteFunc(slices.Clone(m.exports), func(e exp) bool { return e.name == name })
	m.imports = slices.DeleteFunc(slices.Clone(m.imports), func(i imp) bool { return i.name == name })
	return m
}

func (m module) withExport(name string, s sig) module {
	m = m.without(name)
	m.exports = append(m.exports, exp{name, s})
	return m
}

func (m module) withImport(module, name string, s sig) module {
	m = m.without(name)
	m.imports = append(slices.Clone(m.imports), imp{module, name, s})
	return m
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		mod     module
		problem string // a substring of the one expected problem; "" for none
	}{
		{name: "plugin-shaped module", mod: good()},
		{name: "ABI 0.2.0", mod: good().without("proxy_abi_version_0_2_1").withExport("proxy_abi_version_0_2_0", words(0))},
		{name: "no ABI marker", mod: good().without("proxy_abi_version_0_2_1"), problem: "no proxy_abi_version_0_2_1"},
		{name: "no allocator", mod: good().without("proxy_on_memory_allocate"), problem: "missing export proxy_on_memory_allocate"},
		{name: "no _initialize", mod: good().without("_initialize"), problem: "not a WASI reactor"},
		{name: "no memory", mod: func() module { m := good(); m.noMem = true; return m }(), problem: `no "memory" export`},
		{name: "missing callback", mod: good().without("proxy_on_response_headers"), problem: "missing export proxy_on_response_headers"},
		{name: "command module", mod: good().withExport("_start", words(0)), problem: "unwanted export _start"},
		{name: "body callback", mod: good().withExport("proxy_on_request_body", words(3, i32)), problem: "unwanted export proxy_on_request_body"},
		{name: "trailer callback", mod: good().withExport("proxy_on_response_trailers", words(2, i32)), problem: "unwanted export proxy_on_response_trailers"},
		{name: "callback signature", mod: good().withExport("proxy_on_request_headers", sig{Params: []wasm.ValueType{i32, i64, i32}, Results: []wasm.ValueType{i32}}),
			problem: "export proxy_on_request_headers has signature (i32, i64, i32) -> (i32)"},
		{name: "allocator signature", mod: good().withExport("proxy_on_memory_allocate", words(1)), problem: "export proxy_on_memory_allocate has signature"},
		{name: "os pulled in", mod: good().withImport(wasiModule, "fd_close", words(1, i32)), problem: "wasi_snapshot_preview1.fd_close is not among"},
		{name: "not wasip1", mod: good().withImport(wasiModule, "fd_frobnicate", words(1, i32)), problem: "not a wasip1 function"},
		{name: "unknown host function", mod: good().withImport(envModule, "proxy_frobnicate", words(1, i32)), problem: "env.proxy_frobnicate is not a proxy-wasm host function"},
		{name: "host function not in the emulator", mod: good().withImport(envModule, "proxy_get_status", words(3, i32)), problem: "not provided by the SDK emulator"},
		{name: "host function signature", mod: good().withImport(envModule, "proxy_increment_metric", words(2, i32)), problem: "env.proxy_increment_metric has signature (i32, i32) -> (i32), the host's is (i32, i64) -> (i32)"},
		{name: "foreign module", mod: good().withImport("gojs", "runtime.wasmExit", words(1)), problem: `from module "gojs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Check(tt.mod.encode())
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.problem == "" && !r.OK():
				t.Fatalf("problems: %q", r.Problems)
			case tt.problem != "" && (len(r.Problems) != 1 || !strings.Contains(r.Problems[0], tt.problem)):
				t.Fatalf("problems %q, want one containing %q", r.Problems, tt.problem)
			}
		})
	}
}

func TestEnvoyVersions(t *testing.T) {
	wantBands := func(t *testing.T, r *Report, supported string, why ...string) {
		t.Helper()
		if r.Supported != supported {
			t.Errorf("supported %q, want %q", r.Supported, supported)
		}
		for i, b := range r.Envoy {
			if !strings.Contains(b.Why, why[i]) || b.Serves != strings.HasPrefix(why[i], "loads") {
				t.Errorf("Envoy %s: serves %v, %q; want %q", b.Versions, b.Serves, b.Why, why[i])
			}
		}
	}
	t.Run("a module as make build leaves it runs on Envoy 1.28 and newer", func(t *testing.T) {
		r, _ := Check(good().encode())
		wantBands(t, r, "Envoy 1.28 and newer", "loads", "loads", "loads")
	})
	t.Run("a module that imports the scheduler functions fails and runs only on 1.39+", func(t *testing.T) {
		r, _ := Check(good().withImport(wasiModule, "sched_yield", words(0, i32)).withImport(wasiModule, "poll_oneoff", words(4, i32)).encode())
		if len(r.Problems) != 2 || !strings.Contains(r.Problems[0], "wasi_snapshot_preview1.sched_yield: Envoy 1.28-1.32 lack it") ||
			!strings.Contains(r.Problems[1], "go run ./cmd/postlink") {
			t.Errorf("problems %q, want one for each import, naming the post-link step", r.Problems)
		}
		wantBands(t, r, "Envoy 1.39 and newer", "loads", "poll_oneoff is a stub there that fails with ENOSYS", "refused at load: it lacks sched_yield, poll_oneoff")
	})
	t.Run("hosts before 1.39 provide a few file functions, as stubs", func(t *testing.T) {
		r, _ := Check(good().withImport(wasiModule, "fd_fdstat_get", words(2, i32)).encode())
		wantBands(t, r, "Envoy 1.28 and newer", "loads", "loads", "loads")
	})
	t.Run("but not all of them", func(t *testing.T) {
		r, _ := Check(good().withImport(wasiModule, "fd_filestat_get", words(2, i32)).encode())
		wantBands(t, r, "Envoy 1.39 and newer", "loads", "refused at load: it lacks fd_filestat_get", "refused at load: it lacks fd_filestat_get")
	})
	t.Run("Envoy 1.33 added fd_fdstat_set_flags", func(t *testing.T) {
		r, _ := Check(good().withImport(wasiModule, "fd_fdstat_set_flags", words(2, i32)).encode())
		wantBands(t, r, "Envoy 1.33 and newer", "loads", "loads", "refused at load: it lacks fd_fdstat_set_flags")
	})
}

func TestNotAModule(t *testing.T) {
	if _, err := Check([]byte("not wasm")); err == nil {
		t.Fatal("Check accepted garbage")
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.wasm")
	bad := filepath.Join(dir, "bad.wasm")
	os.WriteFile(ok, good().encode(), 0o644)
	os.WriteFile(bad, good().withExport("_start", words(0)).encode(), 0o644)

	// Quiet: one line, the size, OK and the Envoy range.
	var out, errOut bytes.Buffer
	if rc := run(ok, false, &out, &errOut); rc != 0 {
		t.Fatalf("run(ok) = %d: %s", rc, errOut.String())
	}
	want := fmt.Sprintf("wasmcheck: %s OK, %d bytes (0.00 MiB), runs on Envoy 1.28 and newer (-v lists imports and exports)\n", ok, len(good().encode()))
	if out.String() != want || errOut.Len() != 0 {
		t.Errorf("run(ok) printed\n%s(stderr %q); want one line:\n%s", out.String(), errOut.String(), want)
	}

	// Verbose: the full report.
	out.Reset()
	if rc := run(ok, true, &out, &errOut); rc != 0 {
		t.Fatalf("run(ok, verbose) = %d: %s", rc, errOut.String())
	}
	for _, want := range []string{"ABI marker: proxy_abi_version_0_2_1", "imports (11):", "env.proxy_log", "Envoy 1.33-1.38: loads", "supported: Envoy 1.28 and newer", "OK"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("verbose report lacks %q:\n%s", want, out.String())
		}
	}

	// A failure prints the report and the problems, verbose or not.
	for _, verbose := range []bool{false, true} {
		out.Reset()
		errOut.Reset()
		if rc := run(bad, verbose, &out, &errOut); rc != 1 || !strings.Contains(errOut.String(), "unwanted export _start") {
			t.Fatalf("run(bad, %v) = %d: %s", verbose, rc, errOut.String())
		}
		if !strings.Contains(out.String(), "imports (11):") || strings.Contains(out.String(), "OK") {
			t.Errorf("run(bad, %v) printed %q; want the full report, without OK", verbose, out.String())
		}
	}
	if rc := run(filepath.Join(dir, "missing.wasm"), false, &out, &errOut); rc != 1 {
		t.Fatalf("run(missing) = %d", rc)
	}
}

// TestPlugin builds the real module and checks it.
func TestPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	r, err := Check(testmodule.Get(t, testmodule.Release))
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("problems: %q", r.Problems)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes: %q", r.Notes)
	}
	// The range the README states is the one wasmcheck reports; the tests
	// of cpphost/ back it on proxy-wasm-cpp-host.
	if r.Supported != "Envoy 1.28 and newer" {
		t.Errorf("the plugin runs on %q, want Envoy 1.28 and newer: %+v", r.Supported, r.Envoy)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), r.Supported) {
		t.Errorf("README.md does not say %q, the range wasmcheck reports", r.Supported)
	}
}
