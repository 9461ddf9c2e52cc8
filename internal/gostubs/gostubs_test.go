//go:build !wasip1

package gostubs_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/corswasm/corswasm/internal/gostubs"
	"github.com/corswasm/corswasm/internal/wasmcode"
	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Opcodes the tests use besides wasmcode's.
const (
	opUnreachable, opReturn  = 0x00, 0x0F
	opLocalTee               = 0x22
	opGlobalGet, opGlobalSet = 0x23, 0x24
	opI32Load, opI64Load     = 0x28, 0x29
	opI32Store, opI64Store   = 0x36, 0x37
	opI64Store32             = 0x3E
	opI32Add, opI32Sub       = 0x6A, 0x6B
	opI64ExtendU             = 0xAD
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func mem(op, align byte, offset uint32) []byte {
	return wasmcode.AppendUleb([]byte{op, align}, offset, wasmcode.MinWidth(offset))
}

// The stub of an import (i32, i64) -> i32, as Go's compiler writes it.
var (
	stubArgs   = cat([]byte{wasmcode.OpLocalGet, 1}, mem(opI32Load, 2, 8), []byte{wasmcode.OpLocalGet, 1}, mem(opI64Load, 3, 16))
	stubResult = cat([]byte{opGlobalGet, 0, wasmcode.OpLocalSet, 1, opI64ExtendU, wasmcode.OpLocalSet, 2,
		wasmcode.OpLocalGet, 1, wasmcode.OpLocalGet, 2}, mem(opI64Store32, 2, 24))
	stubPop = []byte{wasmcode.OpLocalGet, 1, wasmcode.OpI32Const, 8, opI32Add, opLocalTee, 1, opGlobalSet, 0}
)

func stub(call []byte) []byte {
	return cat([]byte{opGlobalGet, 0, wasmcode.OpLocalSet, 1}, stubArgs, call, stubResult, stubPop,
		[]byte{wasmcode.OpI32Const, 0, opReturn, opUnreachable})
}

// goCall is a Go call of function fn with return address ret.
func goCall(fn byte, ret int64) []byte {
	return cat([]byte{wasmcode.OpLocalGet, 1, wasmcode.OpI32Const, 8, opI32Sub, opLocalTee, 1, opGlobalSet, 0,
		wasmcode.OpLocalGet, 1, wasmcode.OpI64Const}, wasmcode.AppendSleb(nil, ret), mem(opI64Store, 3, 0),
		[]byte{wasmcode.OpI32Const, 0, wasmcode.OpCall, fn, opGlobalGet, 0, wasmcode.OpLocalSet, 1, wasmcode.OpBrIf, 0})
}

// The caller: in a block (the br_if's target), it writes the arguments
// (7 and 0x1122334455) at SP, calls fn, and copies the result the stub
// wrote at SP+16 to SP+32.
func caller(call []byte) []byte {
	return cat([]byte{wasmcode.OpBlock, 0x40, opGlobalGet, 0, wasmcode.OpLocalSet, 1,
		wasmcode.OpLocalGet, 1, wasmcode.OpI32Const, 7}, mem(opI32Store, 2, 0),
		[]byte{wasmcode.OpLocalGet, 1, wasmcode.OpI64Const}, wasmcode.AppendSleb(nil, 0x1122334455), mem(opI64Store, 3, 8),
		call,
		[]byte{wasmcode.OpLocalGet, 1, wasmcode.OpLocalGet, 1}, mem(opI32Load, 2, 16), mem(opI32Store, 2, 32),
		[]byte{wasmcode.OpEnd, wasmcode.OpI32Const, 0})
}

// moduleOf makes a module importing env.host (i32, i64) -> i32 and
// defining the stub (function 1) and the caller (function 2, exported as
// "run"), both (i32) -> i32 with locals i32 and callerR0, with a page of
// memory and global 0, the stack pointer, at 1024; both exported.
func moduleOf(stubBody, callerBody []byte, callerR0 wasm.ValueType) []byte {
	i32, i64 := wasm.ValueTypeI32, wasm.ValueTypeI64
	m := &wasm.Module{
		TypeSection: []*wasm.FunctionType{
			{Params: []wasm.ValueType{i32, i64}, Results: []wasm.ValueType{i32}},
			{Params: []wasm.ValueType{i32}, Results: []wasm.ValueType{i32}},
		},
		ImportSection:   []*wasm.Import{{Type: wasm.ExternTypeFunc, Module: "env", Name: "host", DescFunc: 0}},
		FunctionSection: []wasm.Index{1, 1},
		MemorySection:   &wasm.Memory{Min: 1, Max: 1, IsMaxEncoded: true},
		GlobalSection: []*wasm.Global{{Type: &wasm.GlobalType{ValType: i32, Mutable: true},
			Init: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: wasmcode.AppendSleb(nil, 1024)}}},
		CodeSection: []*wasm.Code{
			{LocalTypes: []wasm.ValueType{i32, i64}, Body: append(bytes.Clone(stubBody), wasmcode.OpEnd)},
			{LocalTypes: []wasm.ValueType{i32, callerR0}, Body: append(bytes.Clone(callerBody), wasmcode.OpEnd)},
		},
		ExportSection: []*wasm.Export{
			{Type: wasm.ExternTypeFunc, Name: "run", Index: 2},
			{Type: wasm.ExternTypeMemory, Name: "memory", Index: 0},
			{Type: wasm.ExternTypeGlobal, Name: "sp", Index: 0},
		},
	}
	return wabin.EncodeModule(m)
}

func TestRewrite(t *testing.T) {
	call := []byte{wasmcode.OpCall, 0}
	i64 := wasm.ValueTypeI64
	g := goCall(1, 0x10005)
	inlined := cat(g[:len(g)-10], stubArgs, call, stubResult, stubPop) // the call through i64.store, then the stub's middle
	for _, tc := range []struct {
		name          string
		stub, caller  []byte
		callerR0      wasm.ValueType
		want          []byte // the caller after; nil: as it was
		stubs, inline int
	}{
		{"a Go call of a stub becomes the stub's instructions", stub(call), caller(goCall(1, 0x10005)), i64,
			caller(inlined), 1, 1},
		{"a stub without unreachable after its return", stub(call)[:len(stub(call))-1], caller(goCall(1, 0x10005)), i64,
			caller(inlined), 1, 1},
		{"a caller whose local 2 is not an i64 is left alone", stub(call), caller(goCall(1, 0x10005)), wasm.ValueTypeI32,
			nil, 1, 0},
		{"a call without the return address stored is left alone", stub(call),
			caller(cat([]byte{wasmcode.OpI32Const, 0, wasmcode.OpCall, 1, opGlobalGet, 0, wasmcode.OpLocalSet, 1, wasmcode.OpBrIf, 0})), i64,
			nil, 1, 0},
		{"a function that calls a defined function is no stub", stub([]byte{wasmcode.OpCall, 2}), caller(goCall(1, 0x10005)), i64,
			nil, 0, 0},
		{"a function with a branch is no stub",
			cat(stub(call)[:4], []byte{wasmcode.OpBlock, 0x40, wasmcode.OpEnd}, stub(call)[4:]), caller(goCall(1, 0x10005)), i64,
			nil, 0, 0},
		{"a function that leaves SP where it was is no stub",
			bytes.Replace(stub(call), stubPop, []byte{wasmcode.OpLocalGet, 1, opGlobalSet, 0}, 1), caller(goCall(1, 0x10005)), i64,
			nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			module := moduleOf(tc.stub, tc.caller, tc.callerR0)
			out, r, err := gostubs.Rewrite(module)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = tc.caller
			}
			if got, err := wasmcode.FuncBody(out, 1); err != nil || !bytes.Equal(got, want) || r.Stubs != tc.stubs || r.Inlined != tc.inline {
				t.Errorf("%+v, want %d stubs, %d inlined (%v)\n got % x\nwant % x", r, tc.stubs, tc.inline, err, got, want)
			}
			if stub, err := wasmcode.FuncBody(out, 0); err != nil || !bytes.Equal(stub, tc.stub) {
				t.Error("the stub itself changed")
			}
		})
	}
}

// TestInlinedCallDoesWhatTheCallDid runs the caller before and after, with
// a host function that returns what it was passed and, when asked to,
// moves the Go stack as a Go callback during a host call may (copying it
// 256 bytes down and lowering the stack pointer): memory, the stack
// pointer and what the host saw must be the same.
func TestInlinedCallDoesWhatTheCallDid(t *testing.T) {
	module := moduleOf(stub([]byte{wasmcode.OpCall, 0}), caller(goCall(1, 0x10005)), wasm.ValueTypeI64)
	inlined, r, err := gostubs.Rewrite(module)
	if err != nil || r.Inlined != 1 {
		t.Fatalf("%+v, %v", r, err)
	}
	ctx := context.Background()
	type outcome struct {
		mem      []byte
		sp       uint64
		seen     [3]uint64
		returned uint64
	}
	run := func(module []byte, move bool) outcome {
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		var o outcome
		_, err := rt.NewHostModuleBuilder("env").NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
				sp := m.ExportedGlobal("sp").Get()
				o.seen = [3]uint64{stack[0], stack[1], sp}
				if move {
					b, _ := m.Memory().Read(uint32(sp)-8, 256)
					m.Memory().Write(uint32(sp)-8-256, bytes.Clone(b))
					m.ExportedGlobal("sp").(api.MutableGlobal).Set(sp - 256)
				}
				stack[0] = stack[0]*3 + stack[1]%1000
			}), []api.ValueType{api.ValueTypeI32, api.ValueTypeI64}, []api.ValueType{api.ValueTypeI32}).
			Export("host").Instantiate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mod, err := rt.Instantiate(ctx, module)
		if err != nil {
			t.Fatal(err)
		}
		res, err := mod.ExportedFunction("run").Call(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		o.returned = res[0]
		o.sp = mod.ExportedGlobal("sp").Get()
		o.mem, _ = mod.Memory().Read(0, 1<<16)
		o.mem = bytes.Clone(o.mem)
		return o
	}
	for _, move := range []bool{false, true} {
		want, got := run(module, move), run(inlined, move)
		if got.sp != want.sp || got.seen != want.seen || got.returned != want.returned || !bytes.Equal(got.mem, want.mem) {
			t.Errorf("moving the stack %v: after, SP %d, host saw %v, returned %d; before, %d, %v, %d (memory equal: %v)",
				move, got.sp, got.seen, got.returned, want.sp, want.seen, want.returned, bytes.Equal(got.mem, want.mem))
		}
		sp := uint32(want.sp)
		if result := binary.LittleEndian.Uint32(want.mem[sp+32:]); result != 7*3+0x1122334455%1000 {
			t.Errorf("moving the stack %v: the caller read %d, not the host's result", move, result)
		}
	}
}

func TestRewriteRefusesWhatItCannotRead(t *testing.T) {
	good := moduleOf(stub([]byte{wasmcode.OpCall, 0}), caller(goCall(1, 5)), wasm.ValueTypeI64)
	if _, _, err := gostubs.Rewrite(good[:len(good)-2]); err == nil {
		t.Error("a truncated module was accepted")
	}
}
