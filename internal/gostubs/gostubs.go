// Package gostubs writes the host-call stubs of Go's WebAssembly code into
// their callers: a post-link step, run after package gobools's, that
// changes how a host function is reached and nothing it is passed or
// returns.
//
// Go's compiler (cmd/internal/obj/wasm, genWasmImportWrapper) reaches
// each //go:wasmimport function through a stub, a Go function without a
// frame that reads the arguments off the Go stack, calls the import and
// writes its result back:
//
//	global.get 0; local.set 1                  (SP, below the return address)
//	local.get 1; i32.load offset=8 ...          (the arguments)
//	call IMPORT
//	global.get 0; local.set 1                  (SP again: the host may have
//	                                            called Go, which may move the stack)
//	i64.extend_i32_u; local.set 2; local.get 1; local.get 2; i64.store32 offset=R
//	local.get 1; i32.const 8; i32.add; local.tee 1; global.set 0
//	i32.const 0; return
//
// and its callers call it as they call any Go function:
//
//	local.get 1; i32.const 8; i32.sub; local.tee 1; global.set 0
//	local.get 1; i64.const RET; i64.store      (the return address)
//	i32.const 0; call STUB
//	global.get 0; local.set 1; br_if L          (L: unwind, which a stub never asks)
//
// Rewrite replaces the last five instructions of such a call with the
// stub's instructions between its first two and its return, as they are:
// local 1 is the stack pointer in every Go function, and the stub's other
// local is its caller's local 2 (Go's register R0, of the same type, which
// no value lives in across a call). The return address stays on the Go
// stack, so that a Go callback the host makes during the import (the
// allocator) finds the same frames as before. What goes is a Wasm call,
// the stub's entry and return and the caller's test of its result: about
// a fifth of the cost of a host call in the module's machine code.
//
// A stub is any function whose body is exactly that shape: straight-line
// code (locals 1 and 2, global 0, constants, loads, stores and integer
// arithmetic) around one call of an imported function, ending with the
// stack pointer restored. Calls of any other shape are left as they are,
// as are the stubs themselves, for them. Rewrite refuses, with an error, a
// module it cannot fully read.
package gostubs

import (
	"bytes"
	"fmt"

	"github.com/corswasm/corswasm/internal/wasmcode"
	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// Report says what Rewrite did.
type Report struct {
	// Stubs is the number of stubs found; Inlined, the calls of them
	// replaced by their instructions.
	Stubs, Inlined int
}

// Opcodes of the shapes, besides wasmcode's.
const (
	opReturn      = 0x0F
	opUnreachable = 0x00
	opLocalTee    = 0x22
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opI32Add      = 0x6A
	opI32Sub      = 0x6B
	opI64Store    = 0x37
)

// Rewrite returns module with the calls of its host-call stubs replaced by
// the stubs' instructions (see the package documentation), and what it
// did. Every section but the code section is copied as it is.
func Rewrite(module []byte) ([]byte, Report, error) {
	m, err := wabin.DecodeModule(module, wasm.CoreFeaturesV2)
	if err != nil {
		return nil, Report{}, fmt.Errorf("decoding the module: %w", err)
	}
	imported := m.ImportFuncCount()
	var r Report
	stubs := map[uint32][]byte{} // function index -> the instructions to put in place of a call
	for i, c := range m.CodeSection {
		body, ok, err := stubBody(c.Body, imported)
		if err != nil {
			return nil, Report{}, fmt.Errorf("function %d: %w", imported+uint32(i), err)
		}
		if ok && localType(m, uint32(i), 1) == wasm.ValueTypeI32 && localType(m, uint32(i), 2) == wasm.ValueTypeI64 {
			stubs[imported+uint32(i)] = body
			r.Stubs++
		}
	}
	if len(stubs) == 0 {
		return module, r, nil
	}
	k := -1 // the code body RewriteCode is at
	out, err := wasmcode.RewriteCode(module, func(instrs []byte) ([]byte, error) {
		k++
		if localType(m, uint32(k), 1) != wasm.ValueTypeI32 || localType(m, uint32(k), 2) != wasm.ValueTypeI64 {
			return instrs, nil // not Go's shape: SP in local 1, R0 in local 2
		}
		code, n, err := inlineCalls(instrs, stubs)
		r.Inlined += n
		return code, err
	})
	if err != nil {
		return nil, Report{}, err
	}
	return out, r, nil
}

// localType returns the type of local l of the i-th defined function of m,
// or 0 when it has none.
func localType(m *wasm.Module, i, l uint32) wasm.ValueType {
	if int(i) >= len(m.FunctionSection) || int(i) >= len(m.CodeSection) || int(m.FunctionSection[i]) >= len(m.TypeSection) {
		return 0
	}
	params := m.TypeSection[m.FunctionSection[i]].Params
	if int(l) < len(params) {
		return params[l]
	}
	l -= uint32(len(params))
	if locals := m.CodeSection[i].LocalTypes; int(l) < len(locals) {
		return locals[l]
	}
	return 0
}

// stubBody returns the instructions of a stub between its first two and
// its return, and whether body (with its final end) is a stub.
func stubBody(body []byte, imported uint32) ([]byte, bool, error) {
	ins, err := wasmcode.DecodeAll(body)
	if err != nil {
		return nil, false, err
	}
	// The last instruction is the function's end; before it, i32.const 0;
	// return; and perhaps unreachable.
	n := len(ins) - 1
	if n > 0 && ins[n-1].Op == opUnreachable {
		n--
	}
	if n < 6 || ins[0].Op != opGlobalGet || !isImm(body, ins[0], 0) || ins[1].Op != wasmcode.OpLocalSet || !isImm(body, ins[1], 1) ||
		ins[n-1].Op != opReturn || ins[n-2].Op != wasmcode.OpI32Const || !isImm(body, ins[n-2], 0) {
		return nil, false, nil
	}
	mid := ins[2 : n-2]
	calls := 0
	for _, in := range mid {
		switch {
		case in.Op == wasmcode.OpCall:
			if in.FuncIdx >= imported {
				return nil, false, nil
			}
			calls++
		case in.Op == wasmcode.OpLocalGet || in.Op == wasmcode.OpLocalSet || in.Op == opLocalTee:
			if !isImm(body, in, 1) && !isImm(body, in, 2) {
				return nil, false, nil
			}
		case in.Op == opGlobalGet || in.Op == opGlobalSet:
			if !isImm(body, in, 0) {
				return nil, false, nil
			}
		case in.Op == wasmcode.OpI32Const || in.Op == wasmcode.OpI64Const,
			in.Op >= wasmcode.OpLoadFirst && in.Op <= wasmcode.OpStoreLast,
			in.Op >= wasmcode.OpNumericFirst && in.Op <= wasmcode.OpNumericLast:
		default:
			return nil, false, nil // a branch, a block, a call of Go's
		}
	}
	// One import call, and the stack pointer restored at the end:
	// local.get 1; i32.const 8; i32.add; local.tee 1; global.set 0.
	e := len(mid) - 5
	if calls != 1 || e < 0 || mid[e].Op != wasmcode.OpLocalGet || !isImm(body, mid[e], 1) ||
		mid[e+1].Op != wasmcode.OpI32Const || !isImm(body, mid[e+1], 8) || mid[e+2].Op != opI32Add ||
		mid[e+3].Op != opLocalTee || !isImm(body, mid[e+3], 1) || mid[e+4].Op != opGlobalSet || !isImm(body, mid[e+4], 0) {
		return nil, false, nil
	}
	return body[mid[0].Start:mid[len(mid)-1].End], true, nil
}

// isImm says whether in's first immediate is the unsigned LEB128 v (for
// i32.const, a signed one; the values compared are small and positive).
func isImm(body []byte, in wasmcode.Instr, v uint32) bool {
	got, _, err := wasmcode.Uleb(body, in.Imm, 5)
	return err == nil && got == v && in.End-in.Imm == wasmcode.MinWidth(v)
}

// inlineCalls replaces each call of a stub in the shape of Go's calls with
// the stub's instructions, and returns how many it replaced.
func inlineCalls(code []byte, stubs map[uint32][]byte) ([]byte, int, error) {
	ins, err := wasmcode.DecodeAll(code)
	if err != nil {
		return nil, 0, err
	}
	var out []byte // nil until the first call replaced
	last, n := 0, 0
	for k := 8; k+4 < len(ins); k++ {
		if ins[k+1].Op != wasmcode.OpCall {
			continue
		}
		body, ok := stubs[ins[k+1].FuncIdx]
		if !ok || !isGoCall(code, ins[k-8:k+5]) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(code))
		}
		out = append(out, code[last:ins[k].Start]...) // through the return address's store
		out = append(out, body...)
		last = ins[k+4].End // past br_if
		n++
		k += 4
	}
	if out == nil {
		return code, 0, nil
	}
	return append(out, code[last:]...), n, nil
}

// isGoCall says whether ins are a Go call's: the stack pointer lowered by
// 8, the return address stored, i32.const 0, the call, the stack pointer
// read back, br_if.
func isGoCall(code []byte, ins []wasmcode.Instr) bool {
	return ins[0].Op == wasmcode.OpLocalGet && isImm(code, ins[0], 1) &&
		ins[1].Op == wasmcode.OpI32Const && isImm(code, ins[1], 8) &&
		ins[2].Op == opI32Sub &&
		ins[3].Op == opLocalTee && isImm(code, ins[3], 1) &&
		ins[4].Op == opGlobalSet && isImm(code, ins[4], 0) &&
		ins[5].Op == wasmcode.OpLocalGet && isImm(code, ins[5], 1) &&
		ins[6].Op == wasmcode.OpI64Const &&
		ins[7].Op == opI64Store && bytes.Equal(code[ins[7].Imm:ins[7].End], []byte{3, 0}) && // align 8, offset 0
		ins[8].Op == wasmcode.OpI32Const && isImm(code, ins[8], 0) &&
		ins[10].Op == opGlobalGet && isImm(code, ins[10], 0) &&
		ins[11].Op == wasmcode.OpLocalSet && isImm(code, ins[11], 1) &&
		ins[12].Op == wasmcode.OpBrIf
}
