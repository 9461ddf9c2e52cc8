//go:build !wasip1

package gojumps_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/gojumps"
	"github.com/corswasm/corswasm/internal/wasmbuild"
	"github.com/corswasm/corswasm/internal/wasmcode"
	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Opcodes the generated functions use besides wasmcode's.
const (
	opNop, opReturn, opUnreachable = 0x01, 0x0F, 0x00
	opLocalTee                     = 0x22
	opI32GtU, opI32Add, opI32Mul   = 0x4B, 0x6A, 0x6C
	opI32And, opI32RemU            = 0x71, 0x70
)

// goLike builds a function laid out as Go's compiler lays out its
// functions: after a little straight code, a loop whose head is a nest of
// blocks ends and a br_table on local 0 (PC_B), then the code of each basic
// block after the end of its block. Block k adds k to an accumulator, stops
// after 60 blocks, and jumps (i32.const, local.set 0, br to the loop) to
// blocks chosen at random, forward and backward, some of them under an if
// that tests the accumulator; or it falls through to the next block. Its
// type is (pc, seed i32) -> i32: the accumulator.
func goLike(rng *rand.Rand, blocks int) []byte {
	b := []byte{
		wasmcode.OpLocalGet, 1, wasmcode.OpLocalSet, 2, // acc = seed
		opNop,
		wasmcode.OpLoop, wasmcode.BlockTypeEmpty,
	}
	for range blocks {
		b = append(b, wasmcode.OpBlock, wasmcode.BlockTypeEmpty)
	}
	// The table: PC k goes to block k; a few PCs share a block, as Go's
	// resume points do; the default is the last block.
	entries := []uint32{}
	for k := range blocks {
		entries = append(entries, uint32(k))
		if rng.IntN(3) == 0 {
			entries = append(entries, uint32(k))
		}
	}
	b = append(b, wasmcode.OpLocalGet, 0, wasmcode.OpBrTable)
	b = wasmcode.AppendUleb(b, uint32(len(entries)), 1)
	for _, e := range entries {
		b = wasmcode.AppendUleb(b, e, 1)
	}
	b = append(b, byte(blocks-1))
	pcOf := func(block int) int32 { // a PC that the table sends to block
		for pc, e := range entries {
			if int(e) == block {
				return int32(pc)
			}
		}
		return int32(len(entries)) // the default
	}
	jump := func(b []byte, to int, depth int) []byte {
		b = append(b, wasmcode.OpI32Const)
		b = wasmcode.AppendSleb(b, int64(pcOf(to)))
		b = append(b, wasmcode.OpLocalSet, 0, wasmcode.OpBr)
		return wasmcode.AppendUleb(b, uint32(depth), 1)
	}
	for k := range blocks {
		b = append(b, wasmcode.OpEnd) // the end of block k: its code follows
		// Open above the loop: blocks k+1 .. blocks-1.
		loopDepth := blocks - 1 - k
		b = append(b,
			wasmcode.OpLocalGet, 2, wasmcode.OpI32Const, 31, opI32Mul,
			wasmcode.OpI32Const, byte(k), opI32Add, wasmcode.OpLocalSet, 2,
			wasmcode.OpLocalGet, 3, wasmcode.OpI32Const, 1, opI32Add, opLocalTee, 3,
			wasmcode.OpI32Const, 60, opI32GtU,
			wasmcode.OpIf, wasmcode.BlockTypeEmpty, wasmcode.OpLocalGet, 2, opReturn, wasmcode.OpEnd,
			wasmcode.OpLocalGet, 2, wasmcode.OpI32Const, 3, opI32RemU,
			wasmcode.OpIf, wasmcode.BlockTypeEmpty,
		)
		b = jump(b, rng.IntN(blocks), loopDepth+1)
		b = append(b, wasmcode.OpEnd)
		if rng.IntN(4) != 0 {
			b = jump(b, rng.IntN(blocks), loopDepth)
		}
	}
	b = append(b, wasmcode.OpEnd, wasmcode.OpLocalGet, 2, wasmcode.OpEnd) // the loop, then return acc
	return b
}

// moduleOf wraps bodies in a module exporting them as f0, f1, ...
func moduleOf(bodies ...[]byte) []byte {
	i32 := wasm.ValueTypeI32
	m := &wasm.Module{TypeSection: []*wasm.FunctionType{{Params: []wasm.ValueType{i32, i32}, Results: []wasm.ValueType{i32}}}}
	for i, body := range bodies {
		m.FunctionSection = append(m.FunctionSection, 0)
		m.CodeSection = append(m.CodeSection, &wasm.Code{LocalTypes: []wasm.ValueType{i32, i32}, Body: body})
		m.ExportSection = append(m.ExportSection, &wasm.Export{Type: wasm.ExternTypeFunc, Name: fmt.Sprint("f", i), Index: uint32(i)})
	}
	return binary.EncodeModule(m)
}

// results calls every export of module for every pc and seed.
func results(t *testing.T, module []byte, functions, pcs int) []uint64 {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.Instantiate(ctx, module)
	if err != nil {
		t.Fatalf("instantiating: %v", err)
	}
	var out []uint64
	for f := range functions {
		fn := mod.ExportedFunction(fmt.Sprint("f", f))
		for pc := range pcs {
			for seed := range 8 {
				res, err := fn.Call(ctx, uint64(pc), uint64(seed))
				if err != nil {
					t.Fatalf("f%d(%d, %d): %v", f, pc, seed, err)
				}
				out = append(out, res[0])
			}
		}
	}
	return out
}

func TestRewrittenFunctionsComputeWhatTheOriginalsDo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var bodies [][]byte
	for i := range 200 {
		bodies = append(bodies, goLike(rng, 2+i%14))
	}
	module := moduleOf(bodies...)
	out, r, err := gojumps.Rewrite(module)
	if err != nil {
		t.Fatal(err)
	}
	if r.Functions != len(bodies) || r.Entries != len(bodies) || r.Direct == 0 || r.Backward == 0 {
		t.Fatalf("report %+v: want %d functions and entries, and both direct and backward jumps", r, len(bodies))
	}
	if bytes.Equal(out, module) {
		t.Fatal("nothing was rewritten")
	}
	before, after := results(t, module, len(bodies), 20), results(t, out, len(bodies), 20)
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("call %d: %d before the rewrite, %d after", i, before[i], after[i])
		}
	}
	t.Logf("%+v; %d calls agree", r, len(before))
}

// body decodes the only function of module.
func body(t *testing.T, module []byte) []byte {
	t.Helper()
	m, err := binary.DecodeModule(module, wasm.CoreFeaturesV2)
	if err != nil {
		t.Fatal(err)
	}
	return m.CodeSection[0].Body
}

func TestRewrite(t *testing.T) {
	// A nest of two blocks: PC 0 and 1 go to block 0, 2 (the default) to
	// block 1. Each case's code follows the end of block 0.
	head := []byte{
		wasmcode.OpLoop, wasmcode.BlockTypeEmpty,
		wasmcode.OpBlock, wasmcode.BlockTypeEmpty, // block 1
		wasmcode.OpBlock, wasmcode.BlockTypeEmpty, // block 0
		wasmcode.OpLocalGet, 0, wasmcode.OpBrTable, 2, 0, 0, 1,
		wasmcode.OpEnd, // block 0's code follows
	}
	entry := []byte{wasmcode.OpLocalGet, 0, wasmcode.OpI32Eqz, wasmcode.OpBrIf, 0}
	withEntry := append(append(append([]byte{}, head[:6]...), entry...), head[6:]...)
	tail := []byte{wasmcode.OpEnd, wasmcode.OpEnd, wasmcode.OpLocalGet, 2, wasmcode.OpEnd} // block 1, the loop; return acc
	cases := []struct {
		name     string
		code     []byte // block 0's code
		wantCode []byte // after the rewrite
		want     gojumps.Report
	}{
		{
			name:     "a jump forward to an enclosing block branches to it",
			code:     []byte{wasmcode.OpI32Const, 2, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 1},
			wantCode: []byte{wasmcode.OpI32Const, 2, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 0},
			want:     gojumps.Report{Functions: 1, Entries: 1, Direct: 1},
		},
		{
			name:     "a jump forward under an if counts the if in its depth",
			code:     []byte{wasmcode.OpLocalGet, 1, wasmcode.OpIf, wasmcode.BlockTypeEmpty, wasmcode.OpI32Const, 2, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 2, wasmcode.OpEnd},
			wantCode: []byte{wasmcode.OpLocalGet, 1, wasmcode.OpIf, wasmcode.BlockTypeEmpty, wasmcode.OpI32Const, 2, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 1, wasmcode.OpEnd},
			want:     gojumps.Report{Functions: 1, Entries: 1, Direct: 1},
		},
		{
			name:     "a PC past the table goes to the default's block",
			code:     []byte{wasmcode.OpI32Const, 9, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 1},
			wantCode: []byte{wasmcode.OpI32Const, 9, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 0},
			want:     gojumps.Report{Functions: 1, Entries: 1, Direct: 1},
		},
		{
			name:     "a jump backward is left to the dispatch",
			code:     []byte{wasmcode.OpI32Const, 1, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 1},
			wantCode: []byte{wasmcode.OpI32Const, 1, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 1},
			want:     gojumps.Report{Functions: 1, Entries: 1, Backward: 1},
		},
		{
			name:     "a br to the loop that sets another local is not a jump",
			code:     []byte{wasmcode.OpI32Const, 2, wasmcode.OpLocalSet, 1, wasmcode.OpBr, 1},
			wantCode: []byte{wasmcode.OpI32Const, 2, wasmcode.OpLocalSet, 1, wasmcode.OpBr, 1},
			want:     gojumps.Report{Functions: 1, Entries: 1},
		},
		{
			name:     "a br to a block that is not the loop is not a jump",
			code:     []byte{wasmcode.OpI32Const, 2, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 0},
			wantCode: []byte{wasmcode.OpI32Const, 2, wasmcode.OpLocalSet, 0, wasmcode.OpBr, 0},
			want:     gojumps.Report{Functions: 1, Entries: 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := moduleOf(slices(head, c.code, tail))
			out, r, err := gojumps.Rewrite(in)
			if err != nil {
				t.Fatal(err)
			}
			if r != c.want {
				t.Errorf("report %+v, want %+v", r, c.want)
			}
			if got, want := body(t, out), slices(withEntry, c.wantCode, tail); !bytes.Equal(got, want) {
				t.Errorf("body\n got % x\nwant % x", got, want)
			}
			again, r2, err := gojumps.Rewrite(out)
			if err != nil || !bytes.Equal(again, out) || r2.Entries != 0 || r2.Direct != 0 {
				t.Errorf("a second rewrite changed the module (report %+v, error %v)", r2, err)
			}
		})
	}
}

func slices(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestRewriteLeavesOtherFunctionsAlone(t *testing.T) {
	for name, code := range map[string][]byte{
		"no loop":                   {wasmcode.OpI32Const, 7, wasmcode.OpEnd},
		"a loop without a nest":     {wasmcode.OpLoop, wasmcode.BlockTypeEmpty, wasmcode.OpEnd, wasmcode.OpI32Const, 7, wasmcode.OpEnd},
		"a table naming the loop":   {wasmcode.OpLoop, wasmcode.BlockTypeEmpty, wasmcode.OpBlock, wasmcode.BlockTypeEmpty, wasmcode.OpLocalGet, 0, wasmcode.OpBrTable, 0, 1, wasmcode.OpEnd, wasmcode.OpEnd, wasmcode.OpI32Const, 7, wasmcode.OpEnd},
		"a nest of typed blocks":    {wasmcode.OpLoop, wasmcode.BlockTypeEmpty, wasmcode.OpBlock, 0x7F, wasmcode.OpLocalGet, 0, wasmcode.OpBrTable, 0, 0, wasmcode.OpEnd, wasmcode.OpEnd, wasmcode.OpEnd},
		"control flow before loops": {wasmcode.OpBlock, wasmcode.BlockTypeEmpty, wasmcode.OpEnd, wasmcode.OpBlock, wasmcode.BlockTypeEmpty, wasmcode.OpEnd, wasmcode.OpI32Const, 7, wasmcode.OpEnd},
	} {
		t.Run(name, func(t *testing.T) {
			in := moduleOf(code)
			out, r, err := gojumps.Rewrite(in)
			if err != nil {
				t.Fatal(err)
			}
			if r != (gojumps.Report{}) || !bytes.Equal(out, in) {
				t.Errorf("report %+v; module changed: %v", r, !bytes.Equal(out, in))
			}
		})
	}
}

func TestRewriteRefusesWhatItCannotRead(t *testing.T) {
	good := moduleOf([]byte{wasmcode.OpI32Const, 7, wasmcode.OpEnd})
	bad := bytes.Replace(good, []byte{wasmcode.OpI32Const, 7, wasmcode.OpEnd}, []byte{0xFD, 7, wasmcode.OpEnd}, 1)
	if _, _, err := gojumps.Rewrite(bad); err == nil || !strings.Contains(err.Error(), "unknown opcode 0xFD") {
		t.Errorf("error %v, want one naming the opcode", err)
	}
	if _, _, err := gojumps.Rewrite(good[:len(good)-2]); err == nil {
		t.Error("a truncated module was accepted")
	}
}

// TestPackageTestsPassRewritten runs the tests of the engine (package
// filter) and of the ABI layer (package abi), compiled for wasip1 and put
// through the post-link step, in wazero: the Go runtime, the garbage
// collector, maps, defers, panics and recoveries, every path the tests
// reach, and the packages' WebAssembly assembly (held there to its Go
// twin) run on rewritten code.
func TestPackageTestsPassRewritten(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the filter and abi tests for wasip1 (-short)")
	}
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"filter", "abi"} {
		t.Run(pkg, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, pkg+".test.wasm")
			cmd := exec.Command("go", "test", "-c", "-o", bin, "./"+pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("building the %s tests for wasip1: %v\n%s", pkg, err, out)
			}
			module, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			rewritten, r, err := wasmbuild.PostLink(module)
			if err != nil {
				t.Fatal(err)
			}
			if r.Jumps.Direct < 1000 {
				t.Fatalf("only %d jumps made direct in the %s tests: %+v", r.Jumps.Direct, pkg, r.Jumps)
			}
			ctx := context.Background()
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			wasi_snapshot_preview1.MustInstantiate(ctx, rt)
			compiled, err := rt.CompileModule(ctx, rewritten)
			if err != nil {
				t.Fatal(err)
			}
			if err := stubImports(ctx, rt, compiled); err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			tmp := t.TempDir()
			cfg := wazero.NewModuleConfig().
				WithArgs(pkg+".test", "-test.count=1").
				WithStdout(&stdout).WithStderr(&stdout).
				WithFSConfig(wazero.NewFSConfig().WithDirMount(filepath.Join(root, pkg), "/").WithDirMount(tmp, "/tmp")).
				WithEnv("TMPDIR", "/tmp").
				WithSysWalltime().WithSysNanotime().WithSysNanosleep()
			_, err = rt.InstantiateModule(ctx, compiled, cfg)
			if exit, ok := err.(*sys.ExitError); ok && exit.ExitCode() == 0 {
				err = nil
			}
			if err != nil || !strings.Contains(stdout.String(), "\nPASS\n") && !strings.HasPrefix(stdout.String(), "PASS\n") {
				t.Fatalf("the rewritten %s tests: %v\n%s", pkg, err, tail(stdout.String()))
			}
			t.Logf("%+v; the %s tests pass", r.Jumps, pkg)
		})
	}
}

// stubImports gives the module every function it imports from a module
// other than WASI's (the abi tests' module imports the proxy-wasm host's),
// each returning zeros: a package's tests never call the host, but a
// module is only instantiated with all of its imports.
func stubImports(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule) error {
	builders := map[string]wazero.HostModuleBuilder{}
	for _, f := range compiled.ImportedFunctions() {
		module, name, _ := f.Import()
		if module == wasi_snapshot_preview1.ModuleName {
			continue
		}
		b, ok := builders[module]
		if !ok {
			b = rt.NewHostModuleBuilder(module)
			builders[module] = b
		}
		results := len(f.ResultTypes())
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			clear(stack[:results])
		}), f.ParamTypes(), f.ResultTypes()).Export(name)
	}
	for module, b := range builders {
		if _, err := b.Instantiate(ctx); err != nil {
			return fmt.Errorf("stubbing the imports of %s: %w", module, err)
		}
	}
	return nil
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}
