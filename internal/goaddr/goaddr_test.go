//go:build !wasip1

package goaddr_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/corswasm/corswasm/internal/goaddr"
	"github.com/corswasm/corswasm/internal/wasmcode"
	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"
)

// Opcodes the tests use besides wasmcode's.
const (
	opDrop                     = 0x1A
	opGlobalGet                = 0x23
	opI64Load, opI32Load8U     = 0x29, 0x2D
	opI32Store, opI64Store     = 0x36, 0x37
	opI64Store8                = 0x3C
	opI64Add, opI64Xor         = 0x7C, 0x85
	opI32WrapI64, opI64ExtendU = 0xA7, 0xAD
)

// sp is local 0 of the test functions, an i32, as Go's stack pointer is an
// i32 local; local 1 is an i64.
const sp, val = 0, 1

// addr is Go's way to address the stack slot SP+c.
func addr(c int64) []byte {
	return append(append([]byte{wasmcode.OpLocalGet, sp, opI64ExtendU, wasmcode.OpI64Const}, wasmcode.AppendSleb(nil, c)...), opI64Add, opI32WrapI64)
}

// memarg is a load or store with an alignment and an offset.
func memarg(op byte, align, offset uint32) []byte {
	return wasmcode.AppendUleb(wasmcode.AppendUleb([]byte{op}, align, 1), offset, wasmcode.MinWidth(offset))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// moduleOf wraps the instructions of one function (sp i32, v i64) -> i64,
// with a local i64, in a module with one page of memory and a global.
func moduleOf(instrs []byte) []byte {
	i32, i64 := wasm.ValueTypeI32, wasm.ValueTypeI64
	m := &wasm.Module{
		TypeSection:     []*wasm.FunctionType{{Params: []wasm.ValueType{i32, i64}, Results: []wasm.ValueType{i64}}},
		FunctionSection: []wasm.Index{0},
		MemorySection:   &wasm.Memory{Min: 1, Max: 1, IsMaxEncoded: true},
		GlobalSection: []*wasm.Global{{Type: &wasm.GlobalType{ValType: i64},
			Init: &wasm.ConstantExpression{Opcode: wasm.OpcodeI64Const, Data: wasmcode.AppendSleb(nil, 0x0102030405060708)}}},
		CodeSection:   []*wasm.Code{{LocalTypes: []wasm.ValueType{i64}, Body: append(instrs, wasmcode.OpEnd)}},
		ExportSection: []*wasm.Export{{Type: wasm.ExternTypeFunc, Name: "f", Index: 0}},
	}
	return wabin.EncodeModule(m)
}

func TestRewrite(t *testing.T) {
	ret := []byte{wasmcode.OpLocalGet, val} // every function returns v
	for _, tc := range []struct {
		name      string
		in, want  []byte
		foldCount int
	}{
		{"a load right after the address takes the constant into its offset",
			cat(addr(40), memarg(opI64Load, 3, 8), []byte{opDrop}, ret),
			cat([]byte{wasmcode.OpLocalGet, sp}, memarg(opI64Load, 3, 48), []byte{opDrop}, ret), 1},
		{"a store whose value is a local.get between them",
			cat(addr(16), []byte{wasmcode.OpLocalGet, val}, memarg(opI64Store, 3, 0), ret),
			cat([]byte{wasmcode.OpLocalGet, sp, wasmcode.OpLocalGet, val}, memarg(opI64Store, 3, 16), ret), 1},
		{"a store whose value is a constant",
			cat(addr(200), []byte{wasmcode.OpI64Const}, wasmcode.AppendSleb(nil, -7), memarg(opI64Store8, 0, 4), ret),
			cat([]byte{wasmcode.OpLocalGet, sp, wasmcode.OpI64Const}, wasmcode.AppendSleb(nil, -7), memarg(opI64Store8, 0, 204), ret), 1},
		{"a store whose value is a global",
			cat(addr(8), []byte{opGlobalGet, 0}, memarg(opI64Store, 3, 0), ret),
			cat([]byte{wasmcode.OpLocalGet, sp, opGlobalGet, 0}, memarg(opI64Store, 3, 8), ret), 1},
		{"two in a row",
			cat(addr(8), memarg(opI64Load, 3, 0), addr(24), []byte{wasmcode.OpLocalGet, val}, memarg(opI64Store, 3, 0), []byte{opDrop}, ret),
			cat([]byte{wasmcode.OpLocalGet, sp}, memarg(opI64Load, 3, 8), []byte{wasmcode.OpLocalGet, sp, wasmcode.OpLocalGet, val}, memarg(opI64Store, 3, 24), []byte{opDrop}, ret), 2},
		{"the address is the value a store stores: left alone",
			cat([]byte{wasmcode.OpLocalGet, sp}, addr(8), memarg(opI32Store, 2, 0), ret), nil, 0},
		{"an instruction that takes the address as the value: left alone",
			cat([]byte{wasmcode.OpLocalGet, sp}, addr(8), []byte{opI64ExtendU}, memarg(opI64Store, 3, 0), ret), nil, 0},
		{"a computed value between address and store: left alone",
			cat(addr(8), []byte{wasmcode.OpLocalGet, val, wasmcode.OpLocalGet, val, opI64Xor}, memarg(opI64Store, 3, 0), ret), nil, 0},
		{"a negative constant: left alone",
			cat([]byte{wasmcode.OpLocalGet, sp, opI64ExtendU, wasmcode.OpI64Const}, wasmcode.AppendSleb(nil, -8), []byte{opI64Add, opI32WrapI64}, memarg(opI32Load8U, 0, 8), []byte{opDrop}, ret), nil, 0},
		{"an offset that would pass 2^32: left alone",
			cat(addr(16), memarg(opI64Load, 3, 1<<32-8), []byte{opDrop}, ret), nil, 0},
		{"an address that is not loaded from: left alone",
			cat(addr(16), []byte{opDrop}, ret), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			module := moduleOf(tc.in)
			out, r, err := goaddr.Rewrite(module)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = tc.in
			}
			if got, err := wasmcode.FuncBody(out, 0); err != nil || !bytes.Equal(got, want) || r.Folded != tc.foldCount {
				t.Errorf("folded %d, want %d (%v)\n got % x\nwant % x", r.Folded, tc.foldCount, err, got, want)
			}
			again, r2, err := goaddr.Rewrite(out)
			if err != nil || r2.Folded != 0 || !bytes.Equal(again, out) {
				t.Errorf("rewriting again: %+v, %v; want nothing to do", r2, err)
			}
		})
	}
}

// TestFoldedCodeComputesWhatTheOriginalDoes runs a function that stores and
// loads through every shape Rewrite folds, before and after, for stack
// pointers across the page.
func TestFoldedCodeComputesWhatTheOriginalDoes(t *testing.T) {
	var b []byte
	// Stores: v, a constant and the global at SP+0, SP+8+4, SP+24+1; then
	// loads them back, xor-ed into v.
	b = cat(b, addr(0), []byte{wasmcode.OpLocalGet, val}, memarg(opI64Store, 3, 0))
	b = cat(b, addr(8), []byte{wasmcode.OpI64Const}, wasmcode.AppendSleb(nil, 0x1122334455), memarg(opI64Store, 3, 4))
	b = cat(b, addr(24), []byte{opGlobalGet, 0}, memarg(opI64Store8, 0, 1))
	for _, slot := range [][2]int64{{0, 0}, {8, 4}, {24, 1}, {20, 6}} {
		b = cat(b, []byte{wasmcode.OpLocalGet, val}, addr(slot[0]), memarg(opI64Load, 0, uint32(slot[1])), []byte{opI64Xor, wasmcode.OpLocalSet, val})
	}
	b = cat(b, []byte{wasmcode.OpLocalGet, val})
	module := moduleOf(b)
	folded, r, err := goaddr.Rewrite(module)
	if err != nil {
		t.Fatal(err)
	}
	if r.Folded != 7 {
		t.Fatalf("folded %d, want 7", r.Folded)
	}
	ctx := context.Background()
	call := func(module []byte, sp uint32, v uint64) (uint64, []byte) {
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		mod, err := rt.Instantiate(ctx, module)
		if err != nil {
			t.Fatal(err)
		}
		res, err := mod.ExportedFunction("f").Call(ctx, uint64(sp), v)
		if err != nil {
			t.Fatalf("f(%d, %#x): %v", sp, v, err)
		}
		mem, _ := mod.Memory().Read(0, 1<<16)
		return res[0], bytes.Clone(mem)
	}
	for _, sp := range []uint32{0, 1, 7, 1000, 1<<16 - 40} {
		v := binary.LittleEndian.Uint64([]byte{byte(sp), 2, 3, 4, 5, 6, 7, 8})
		want, wantMem := call(module, sp, v)
		got, gotMem := call(folded, sp, v)
		if got != want || !bytes.Equal(gotMem, wantMem) {
			t.Errorf("sp %d: %#x after folding, %#x before (memory equal: %v)", sp, got, want, bytes.Equal(gotMem, wantMem))
		}
	}
}

func TestRewriteRefusesWhatItCannotRead(t *testing.T) {
	good := moduleOf(cat(addr(8), memarg(opI64Load, 3, 0)))
	if _, _, err := goaddr.Rewrite(good[:len(good)-2]); err == nil {
		t.Error("a truncated module was accepted")
	}
	bad := moduleOf([]byte{0xFF, wasmcode.OpLocalGet, val})
	if _, _, err := goaddr.Rewrite(bad); err == nil {
		t.Error("an unknown opcode was accepted")
	}
}
