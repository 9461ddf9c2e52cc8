//go:build !wasip1

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// module is a small module that imports sched_yield when yield is true, and
// whose one function calls it (or returns 0).
func module(yield bool) []byte {
	i32 := wasm.ValueTypeI32
	m := &wasm.Module{
		TypeSection:     []*wasm.FunctionType{{Results: []wasm.ValueType{i32}}},
		FunctionSection: []wasm.Index{0},
		CodeSection:     []*wasm.Code{{Body: []byte{wasm.OpcodeI32Const, 0, wasm.OpcodeEnd}}},
		ExportSection:   []*wasm.Export{{Type: wasm.ExternTypeFunc, Name: "f", Index: 0}},
	}
	if yield {
		m.ImportSection = []*wasm.Import{{Type: wasm.ExternTypeFunc, Module: "wasi_snapshot_preview1", Name: "sched_yield", DescFunc: 0}}
		m.CodeSection[0].Body = []byte{wasm.OpcodeCall, 0, wasm.OpcodeEnd}
		m.ExportSection[0].Index = 1
	}
	return binary.EncodeModule(m)
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	imports := func(path string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := binary.DecodeModule(b, wasm.CoreFeaturesV2)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return len(m.ImportSection)
	}

	t.Run("rewrites the module in place", func(t *testing.T) {
		p := write("in-place.wasm", module(true))
		var out bytes.Buffer
		if err := run(p, "", &out); err != nil {
			t.Fatal(err)
		}
		if n := imports(p); n != 0 {
			t.Errorf("%d imports left", n)
		}
		if !strings.Contains(out.String(), "defined wasi_snapshot_preview1.sched_yield inside the module") {
			t.Errorf("output %q does not say what it did", out.String())
		}
	})
	t.Run("writes to -o and leaves the input alone", func(t *testing.T) {
		in := write("in.wasm", module(true))
		o := filepath.Join(dir, "out.wasm")
		if err := run(in, o, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if imports(in) != 1 || imports(o) != 0 {
			t.Errorf("imports: input %d, output %d; want 1 and 0", imports(in), imports(o))
		}
	})
	t.Run("says there is nothing to do", func(t *testing.T) {
		p := write("done.wasm", module(false))
		var out bytes.Buffer
		if err := run(p, "", &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "imports neither sched_yield nor poll_oneoff: no WASI function to define") {
			t.Errorf("output %q", out.String())
		}
	})
	t.Run("refuses a module it cannot read and leaves the file whole", func(t *testing.T) {
		bad := module(true)
		bad = bytes.Replace(bad, []byte{wasm.OpcodeCall, 0, wasm.OpcodeEnd}, []byte{0xFD, 0, wasm.OpcodeEnd}, 1)
		p := write("bad.wasm", bad)
		err := run(p, "", &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "bad.wasm") || !strings.Contains(err.Error(), "unknown opcode 0xFD") {
			t.Fatalf("error %v, want one naming the file and the opcode", err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, bad) {
			t.Error("the refused module's file changed")
		}
		if entries, _ := filepath.Glob(filepath.Join(dir, ".postlink-*")); len(entries) != 0 {
			t.Errorf("temporary files left: %q", entries)
		}
	})
}
