//go:build !wasip1

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmbuild"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
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
			if t.EqualsSignature(s.params, s.results) {
				return wasm.Index(i)
			}
		}
		w.TypeSection = append(w.TypeSection, &wasm.FunctionType{Params: s.params, Results: s.results})
		return wasm.Index(len(w.TypeSection) - 1)
	}
	for _, i := range m.imports {
		w.ImportSection = append(w.ImportSection, &wasm.Import{Type: wasm.ExternTypeFunc, Module: i.module, Name: i.name, DescFunc: typeOf(i.sig)})
	}
	for _, e := range m.exports {
		w.FunctionSection = append(w.FunctionSection, typeOf(e.sig))
		body := []byte{}
		for _, r := range e.sig.results {
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
		m.imports = append(m.imports, imp{envModule, n, hostFunctions[n]})
	}
	m.exports = append(m.exports, exp{"proxy_abi_version_0_2_1", words(0)})
	for _, n := range sortedKeys(requiredExports) {
		m.exports = append(m.exports, exp{n, requiredExports[n]})
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
		{name: "callback signature", mod: good().withExport("proxy_on_request_headers", sig{params: []wasm.ValueType{i32, i64, i32}, results: []wasm.ValueType{i32}}),
			problem: "export proxy_on_request_headers has signature (i32, i64, i32) -> (i32)"},
		{name: "allocator signature", mod: good().withExport("proxy_on_memory_allocate", words(1)), problem: "export proxy_on_memory_allocate has signature"},
		{name: "os pulled in", mod: good().withImport(wasiModule, "fd_close", words(1, i32)), problem: "wasi_snapshot_preview1.fd_close is not among"},
		{name: "not wasip1", mod: good().withImport(wasiModule, "fd_frobnicate", words(1, i32)), problem: "not a wasip1 function"},
		{name: "unknown host function", mod: good().withImport(envModule, "proxy_frobnicate", words(1, i32)), problem: "env.proxy_frobnicate is not a proxy-wasm host function"},
		{name: "host function not in the emulator", mod: good().withImport(envModule, "proxy_get_log_level", words(1, i32)), problem: "not provided by the SDK emulator"},
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
	r, _ := Check(good().encode())
	if !r.Envoy133 || !strings.Contains(r.Envoy133Why, "ENOSYS") {
		t.Errorf("1.33: %v %q", r.Envoy133, r.Envoy133Why)
	}
	if r.Envoy132 || r.Envoy132Why != "refused at load: it lacks sched_yield, poll_oneoff" {
		t.Errorf("1.32: %v %q", r.Envoy132, r.Envoy132Why)
	}

	r, _ = Check(good().without("sched_yield").without("poll_oneoff").encode())
	if !r.Envoy133 || r.Envoy133Why != "loads" || !r.Envoy132 {
		t.Errorf("without scheduler imports: 1.33 %v %q, 1.32 %v %q", r.Envoy133, r.Envoy133Why, r.Envoy132, r.Envoy132Why)
	}

	// Hosts before 1.39 provide a few file functions (as stubs), not all.
	r, _ = Check(good().withImport(wasiModule, "fd_fdstat_get", words(2, i32)).encode())
	if !r.Envoy133 {
		t.Errorf("with fd_fdstat_get: 1.33 %v %q, want it to load", r.Envoy133, r.Envoy133Why)
	}
	r, _ = Check(good().withImport(wasiModule, "fd_filestat_get", words(2, i32)).encode())
	if r.Envoy133 || r.Envoy133Why != "refused at load: it lacks fd_filestat_get" {
		t.Errorf("with fd_filestat_get: 1.33 %v %q", r.Envoy133, r.Envoy133Why)
	}
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

	var out, errOut bytes.Buffer
	if rc := run(ok, &out, &errOut); rc != 0 {
		t.Fatalf("run(ok) = %d: %s", rc, errOut.String())
	}
	for _, want := range []string{"ABI marker: proxy_abi_version_0_2_1", "imports (13):", "env.proxy_log", "Envoy 1.33-1.38: loads", "OK"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if rc := run(bad, &out, &errOut); rc != 1 || !strings.Contains(errOut.String(), "unwanted export _start") {
		t.Fatalf("run(bad) = %d: %s", rc, errOut.String())
	}
	if rc := run(filepath.Join(dir, "missing.wasm"), &out, &errOut); rc != 1 {
		t.Fatalf("run(missing) = %d", rc)
	}
}

// TestPlugin builds the real module and checks it.
func TestPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	bin, err := wasmbuild.Plugin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Check(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("problems: %q", r.Problems)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes: %q", r.Notes)
	}
	if !r.Envoy133 {
		t.Errorf("Envoy 1.33-1.38 could not load the plugin: %s", r.Envoy133Why)
	}
}
