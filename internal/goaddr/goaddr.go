// Package goaddr folds the address arithmetic of Go's WebAssembly code
// into the memory instructions that use it: a post-link step, run after
// package gojumps's, that changes how an address is computed and nothing
// it computes.
//
// Go's compiler (cmd/internal/obj/wasm) keeps its 64-bit registers in i64
// locals and its stack pointer in an i32 local, and addresses a slot of the
// stack frame, SP+C, as
//
//	local.get SP; i64.extend_i32_u; i64.const C; i64.add; i32.wrap_i64
//
// before the load or store that uses it, which has an offset immediate of
// its own. Rewrite drops the four instructions after local.get and adds C
// to that offset, when the load or store follows at once (or after one
// instruction that pushes its value: local.get, global.get or a constant):
//
//	local.get SP; i64.load offset=O+C
//
// The two agree whenever SP+C does not pass 2^32, which a stack frame in
// linear memory never does. About 17,000 places in the plugin; the
// machine code wazero makes of an exchange runs about 5% fewer
// instructions (BENCHMARKS.md).
//
// Rewrite refuses, with an error, a module it cannot fully read. Any other
// shape of code is left as it is.
package goaddr

import "github.com/corswasm/corswasm/internal/wasmcode"

// Report says what Rewrite did.
type Report struct {
	// Folded is the number of addresses folded into their load or store.
	Folded int
}

// Opcodes of the pattern, besides wasmcode's.
const (
	opGlobalGet    = 0x23
	opI32WrapI64   = 0xA7
	opI64ExtendU32 = 0xAD
	opI64Add       = 0x7C
	firstStore     = 0x36 // i32.store; the loads come before it
)

// Rewrite returns module with the stack addresses of its code folded into
// their loads and stores (see the package documentation), and what it did.
// Every section but the code section is copied as it is. Rewriting a
// rewritten module changes nothing.
func Rewrite(module []byte) ([]byte, Report, error) {
	return wasmcode.RewriteFuncs(module, rewriteFunc)
}

// rewriteFunc rewrites the instructions of one function.
func rewriteFunc(code []byte, r *Report) ([]byte, error) {
	ins, err := wasmcode.DecodeAll(code)
	if err != nil {
		return nil, err
	}
	var out []byte // nil until the first fold
	last := 0      // code[last:] is not yet in out
	for k := 0; k+5 < len(ins); k++ {
		c, ok := stackAddress(code, ins[k:k+5])
		if !ok {
			continue
		}
		mem := k + 5 // the load or store
		if !isLoadOrStore(ins[mem].Op) || ins[mem].Op >= firstStore {
			// A store takes its value after its address: one instruction
			// that only pushes it may sit between them.
			if mem+1 >= len(ins) || !pushesOnly(ins[mem].Op) || !isStore(ins[mem+1].Op) {
				continue
			}
			mem++
		}
		align, n, err := wasmcode.Uleb(code, ins[mem].Imm, 5)
		if err != nil {
			return nil, err
		}
		offset, _, err := wasmcode.Uleb(code, ins[mem].Imm+n, 5)
		if err != nil {
			return nil, err
		}
		if align >= 64 || uint64(offset)+uint64(c) > wasmcode.MaxOffset {
			continue // a multi-memory memarg, or an offset past u32
		}
		if out == nil {
			out = make([]byte, 0, len(code))
		}
		out = append(out, code[last:ins[k].End]...)             // local.get SP
		out = append(out, code[ins[k+5].Start:ins[mem].Imm]...) // the value, the opcode
		sum := offset + uint32(c)
		out = append(out, code[ins[mem].Imm:ins[mem].Imm+n]...) // the alignment
		out = wasmcode.AppendUleb(out, sum, wasmcode.MinWidth(sum))
		last = ins[mem].End
		r.Folded++
		k = mem
	}
	if out == nil {
		return code, nil
	}
	return append(out, code[last:]...), nil
}

// stackAddress reads local.get L; i64.extend_i32_u; i64.const C; i64.add;
// i32.wrap_i64 and returns C, when it fits an offset. The extension tells
// L is an i32 local: in Go's code, the stack pointer (the other, PC_B, is
// never an address).
func stackAddress(code []byte, ins []wasmcode.Instr) (int64, bool) {
	if ins[0].Op != wasmcode.OpLocalGet || ins[1].Op != opI64ExtendU32 || ins[2].Op != wasmcode.OpI64Const ||
		ins[3].Op != opI64Add || ins[4].Op != opI32WrapI64 {
		return 0, false
	}
	c, _, err := wasmcode.Sleb(code, ins[2].Imm, 10)
	return c, err == nil && c >= 0 && c <= wasmcode.MaxOffset
}

func isLoadOrStore(op byte) bool { return op >= wasmcode.OpLoadFirst && op <= wasmcode.OpStoreLast }

func isStore(op byte) bool { return op >= firstStore && op <= wasmcode.OpStoreLast }

// pushesOnly says whether the instruction pushes one value and does
// nothing else, so that the address may be computed before or after it.
func pushesOnly(op byte) bool {
	switch op {
	case wasmcode.OpLocalGet, opGlobalGet, wasmcode.OpI32Const, wasmcode.OpI64Const, wasmcode.OpF32Const, wasmcode.OpF64Const:
		return true
	}
	return false
}
