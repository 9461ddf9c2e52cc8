//go:build !wasip1

package gomoves_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/corswasm/corswasm/internal/gomoves"
	"github.com/corswasm/corswasm/internal/wasmcode"
	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"
)

// Opcodes the tests use besides wasmcode's.
const (
	opI64Load, opI64Store      = 0x29, 0x37
	opI64Add                   = 0x7C
	opI32WrapI64, opI64ExtendU = 0xA7, 0xAD
)

// sp is local 0 of the test functions, an i32, as Go's stack pointer is an
// i32 local; reg is local 1, an i64, as Go's registers are.
const sp, reg = 0, 1

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func i64Const(c int64) []byte {
	return append([]byte{wasmcode.OpI64Const}, wasmcode.AppendSleb(nil, c)...)
}

func i32Const(c int64) []byte {
	return append([]byte{wasmcode.OpI32Const}, wasmcode.AppendSleb(nil, c)...)
}

// The address shapes of Go's code, as gomoves's documentation lists them.
func stackAddr(c int64) []byte {
	return cat([]byte{wasmcode.OpLocalGet, sp, opI64ExtendU}, i64Const(c), []byte{opI64Add, opI32WrapI64})
}
func stackAddr0() []byte { return []byte{wasmcode.OpLocalGet, sp, opI64ExtendU, opI32WrapI64} }
func regAddr(c int64) []byte {
	return cat([]byte{wasmcode.OpLocalGet, reg}, i64Const(c), []byte{opI64Add, opI32WrapI64})
}
func regAddr0() []byte          { return []byte{wasmcode.OpLocalGet, reg, opI32WrapI64} }
func staticAddr(c int64) []byte { return cat(i64Const(c), []byte{opI32WrapI64}) }

// fill and copy are Go's clear and move of n bytes.
func fill(dst []byte, n int64) []byte {
	return cat(dst, i32Const(0), i32Const(n), []byte{wasmcode.OpMiscPrefix, 11, 0})
}
func copyOf(dst, src []byte, n int64) []byte {
	return cat(dst, src, i32Const(n), []byte{wasmcode.OpMiscPrefix, 10, 0, 0})
}

// word is a load or store of a word at offset.
func word(op byte, offset uint32) []byte {
	return wasmcode.AppendUleb([]byte{op, 3}, offset, wasmcode.MinWidth(offset))
}

// clearAt and copyAt are what Rewrite writes for each word: base, the
// offset of the first word, and the words' offsets from it.
func clearAt(base []byte, offset uint32, words ...uint32) []byte {
	var b []byte
	for _, k := range words {
		b = cat(b, base, i64Const(0), word(opI64Store, offset+k))
	}
	return b
}
func copyAt(dst []byte, dstOff uint32, src []byte, srcOff uint32, words ...uint32) []byte {
	var b []byte
	for _, k := range words {
		b = cat(b, dst, src, word(opI64Load, srcOff+k), word(opI64Store, dstOff+k))
	}
	return b
}

// moduleOf wraps the instructions of one function (sp i32, reg i64) with
// one page of memory.
func moduleOf(instrs []byte) []byte {
	i32, i64 := wasm.ValueTypeI32, wasm.ValueTypeI64
	m := &wasm.Module{
		TypeSection:     []*wasm.FunctionType{{Params: []wasm.ValueType{i32, i64}}},
		FunctionSection: []wasm.Index{0},
		MemorySection:   &wasm.Memory{Min: 1, Max: 1, IsMaxEncoded: true},
		CodeSection:     []*wasm.Code{{Body: append(instrs, wasmcode.OpEnd)}},
		ExportSection:   []*wasm.Export{{Type: wasm.ExternTypeFunc, Name: "f", Index: 0}},
	}
	return wabin.EncodeModule(m)
}

func TestRewrite(t *testing.T) {
	spBase, regBase, zero := []byte{wasmcode.OpLocalGet, sp}, regAddr0(), i32Const(0)
	for _, tc := range []struct {
		name          string
		in, want      []byte
		copies, fills int
	}{
		{"a clear of a stack slot is word stores with the slot in their offsets",
			fill(stackAddr(16), 40), clearAt(spBase, 16, 0, 8, 16, 24, 32), 0, 1},
		{"a clear whose size is not a multiple of 8 ends with an overlapping word",
			fill(stackAddr0(), 33), clearAt(spBase, 0, 0, 8, 16, 24, 25), 0, 1},
		{"a clear through a register plus an offset",
			fill(regAddr(24), 48), clearAt(regBase, 24, 0, 8, 16, 24, 32, 40), 0, 1},
		{"a clear of a static address",
			fill(staticAddr(4096), 40), clearAt(zero, 4096, 0, 8, 16, 24, 32), 0, 1},
		{"a copy between stack slots",
			copyOf(stackAddr(80), stackAddr(152), 48), copyAt(spBase, 80, spBase, 152, 0, 8, 16, 24, 32, 40), 1, 0},
		{"a copy from a static address to a register's",
			copyOf(regAddr0(), staticAddr(1000), 24), copyAt(regBase, 0, zero, 1000, 0, 8, 16), 1, 0},
		{"a copy of 61 bytes from a register's field",
			copyOf(stackAddr(8), regAddr(16), 61), copyAt(spBase, 8, regBase, 16, 0, 8, 16, 24, 32, 40, 48, 53), 1, 0},
		{"the largest copy and clear",
			cat(copyOf(stackAddr0(), regAddr0(), gomoves.MaxCopy), fill(stackAddr(8), gomoves.MaxFill)),
			cat(copyAt(spBase, 0, regBase, 0, 0, 8, 16, 24, 32, 40, 48, 56),
				clearAt(spBase, 8, 0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120)), 1, 1},
		{"a copy larger than MaxCopy: left alone", copyOf(stackAddr(8), regAddr0(), gomoves.MaxCopy+8), nil, 0, 0},
		{"a clear larger than MaxFill: left alone", fill(stackAddr(8), gomoves.MaxFill+8), nil, 0, 0},
		{"a clear of fewer than 8 bytes: left alone", fill(stackAddr(8), 7), nil, 0, 0},
		{"a fill with another value than 0: left alone",
			cat(stackAddr(8), i32Const(1), i32Const(48), []byte{wasmcode.OpMiscPrefix, 11, 0}), nil, 0, 0},
		{"a computed size: left alone",
			cat(stackAddr(8), regAddr0(), []byte{wasmcode.OpLocalGet, sp, wasmcode.OpMiscPrefix, 10, 0, 0}), nil, 0, 0},
		{"an address loaded from memory: left alone",
			fill(cat([]byte{wasmcode.OpLocalGet, sp}, word(opI64Load, 8), []byte{opI32WrapI64}), 48), nil, 0, 0},
		{"a source loaded from memory: left alone",
			copyOf(stackAddr(8), cat([]byte{wasmcode.OpLocalGet, sp}, word(opI64Load, 8), []byte{opI32WrapI64}), 48), nil, 0, 0},
		{"a negative constant: left alone", fill(regAddr(-8), 48), nil, 0, 0},
		{"an offset that would pass 2^32: left alone", fill(staticAddr(1<<32-40), 48), nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			module := moduleOf(tc.in)
			out, r, err := gomoves.Rewrite(module)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = tc.in
			}
			if got, err := wasmcode.FuncBody(out, 0); err != nil || !bytes.Equal(got, want) || r.Copies != tc.copies || r.Fills != tc.fills {
				t.Errorf("%+v, want %d copies and %d fills (%v)\n got % x\nwant % x", r, tc.copies, tc.fills, err, got, want)
			}
			again, r2, err := gomoves.Rewrite(out)
			if err != nil || r2 != (gomoves.Report{}) || !bytes.Equal(again, out) {
				t.Errorf("rewriting again: %+v, %v; want nothing to do", r2, err)
			}
		})
	}
}

// TestRewrittenCodeMovesWhatTheOriginalMoves runs a function that clears
// and copies through every address shape, before and after, on memory
// filled with a pattern, for stack pointers and registers across the page,
// and compares the memory.
func TestRewrittenCodeMovesWhatTheOriginalMoves(t *testing.T) {
	b := cat(
		fill(stackAddr(8), 48),
		copyOf(regAddr(100), stackAddr(200), 61),
		copyOf(regAddr0(), staticAddr(300), 64),
		fill(staticAddr(1000), 33),
		fill(stackAddr0(), 128),
		copyOf(stackAddr(64), stackAddr(64), 24), // onto itself, as Go may
		copyOf(stackAddr0(), regAddr(8), 17),
	)
	module := moduleOf(b)
	rewritten, r, err := gomoves.Rewrite(module)
	if err != nil {
		t.Fatal(err)
	}
	if r.Copies != 4 || r.Fills != 3 {
		t.Fatalf("rewrote %+v, want 4 copies and 3 fills", r)
	}
	pattern := make([]byte, 1<<16)
	for i := range pattern {
		pattern[i] = byte(i*7 + i>>8)
	}
	ctx := context.Background()
	run := func(module []byte, sp uint32, reg uint64) []byte {
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		mod, err := rt.Instantiate(ctx, module)
		if err != nil {
			t.Fatal(err)
		}
		mod.Memory().Write(0, pattern)
		if _, err := mod.ExportedFunction("f").Call(ctx, uint64(sp), reg); err != nil {
			t.Fatalf("f(%d, %d): %v", sp, reg, err)
		}
		mem, _ := mod.Memory().Read(0, 1<<16)
		return bytes.Clone(mem)
	}
	for _, sp := range []uint32{0, 1, 7, 1200, 1<<16 - 300} {
		for _, reg := range []uint64{2000, 2003, 1<<16 - 200} {
			want, got := run(module, sp, reg), run(rewritten, sp, reg)
			if bytes.Equal(want, pattern) {
				t.Fatalf("sp %d, reg %d: the function changed nothing", sp, reg)
			}
			if !bytes.Equal(got, want) {
				for i := range got {
					if got[i] != want[i] {
						t.Errorf("sp %d, reg %d: byte %d is %#x after the rewrite, %#x before", sp, reg, i, got[i], want[i])
						break
					}
				}
			}
		}
	}
}

func TestRewriteRefusesWhatItCannotRead(t *testing.T) {
	good := moduleOf(fill(stackAddr(8), 48))
	if _, _, err := gomoves.Rewrite(good[:len(good)-2]); err == nil {
		t.Error("a truncated module was accepted")
	}
	bad := moduleOf([]byte{0xFF, wasmcode.OpLocalGet, reg})
	if _, _, err := gomoves.Rewrite(bad); err == nil {
		t.Error("an unknown opcode was accepted")
	}
}
