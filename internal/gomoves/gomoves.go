// Package gomoves writes the small fixed-size copies and clears of Go's
// WebAssembly code as word loads and stores: a post-link step, run after
// package goaddr's, that changes how bytes are moved and nothing it
// moves.
//
// Go's compiler lowers the move of a value larger than 16 bytes to
// memory.copy and the clearing of one larger than 32 bytes to memory.fill
// (LoweredMove and LoweredZero in cmd/compile's Wasm rules), the size a
// constant:
//
//	DST; SRC; i32.const N; memory.copy
//	DST; i32.const 0; i32.const N; memory.fill
//
// wazero's compiler runs each as calls from the machine code into Go's
// runtime.memmove: one for a copy, and one per doubling for a fill (six
// for 48 bytes, each with its bounds checks and the spills around a call).
// A parsed origin, a decision's pieces and the results of the functions
// that return them are such values, several per request. Rewrite writes
// them as N/8 i64 stores (a copy: loads and stores, word by word), when N
// is at most MaxFill (MaxCopy) and each address is of a shape that can be
// computed again without side effects:
//
//	local.get SP; i64.extend_i32_u; i64.const C; i64.add; i32.wrap_i64 (a stack slot)
//	local.get SP; i64.extend_i32_u; i32.wrap_i64
//	local.get R; i64.const C; i64.add; i32.wrap_i64 (a register plus a field's offset)
//	local.get R; i32.wrap_i64
//	i64.const C; i32.wrap_i64 (a static address)
//
// Each load and store recomputes the address's base (local.get SP, or
// local.get R; i32.wrap_i64, or i32.const 0) and takes C, plus the word's
// place, as its offset, which agrees with the original whenever base+C
// does not pass 2^32, as for any address of Go's memory (package goaddr
// makes the same fold). A size that is not a multiple of 8 ends with a
// word that overlaps the one before it.
//
// A copy goes forward, word by word, where memory.copy behaves as memmove:
// the two agree because Go's compiler never moves between a source and a
// destination that partly overlap with memory.copy (cmd/compile's
// moveWhichMayOverlap calls runtime.memmove when they might), and Go's
// assembly uses memory.copy only with a computed size (runtime.memmove),
// which Rewrite leaves alone. Out of bounds, memory.fill and memory.copy
// trap before writing anything and the stores after writing the words
// that fit; both end the VM.
//
// Rewrite refuses, with an error, a module it cannot fully read. Any other
// shape of code is left as it is.
package gomoves

import "github.com/corswasm/corswasm/internal/wasmcode"

// The largest sizes Rewrite unrolls. One memmove call costs wazero's
// machine code about as much as eight word copies; a fill calls it
// log2(N) times (BENCHMARKS.md).
const (
	MaxCopy = 64
	MaxFill = 128
)

// Report says what Rewrite did.
type Report struct {
	// Copies and Fills are the memory.copy and memory.fill instructions
	// written as loads and stores.
	Copies, Fills int
}

// Opcodes of the patterns, besides wasmcode's.
const (
	opI32WrapI64   = 0xA7
	opI64ExtendU32 = 0xAD
	opI64Add       = 0x7C
	opI64Load      = 0x29
	opI64Store     = 0x37
	subMemoryCopy  = 10
	subMemoryFill  = 11
	alignWord      = 3 // the natural alignment of an i64, as Go writes it
)

// Rewrite returns module with its small constant-size memory.copy and
// memory.fill written as loads and stores (see the package
// documentation), and what it did. Every section but the code section is
// copied as it is. Rewriting a rewritten module changes nothing.
func Rewrite(module []byte) ([]byte, Report, error) {
	return wasmcode.RewriteFuncs(module, rewriteFunc)
}

// rewriteFunc rewrites the instructions of one function.
func rewriteFunc(code []byte, r *Report) ([]byte, error) {
	ins, err := wasmcode.DecodeAll(code)
	if err != nil {
		return nil, err
	}
	var out []byte // nil until the first rewrite
	last := 0      // code[last:] is not yet in out
	for k, in := range ins {
		if in.Op != wasmcode.OpMiscPrefix || in.Sub != subMemoryCopy && in.Sub != subMemoryFill || k < 3 {
			continue
		}
		if code[in.Imm] != 0 || in.Sub == subMemoryCopy && code[in.Imm+1] != 0 {
			continue // another memory than 0 (multi-memory)
		}
		n, ok := constant(code, ins[k-1], wasmcode.OpI32Const)
		if !ok || n < 8 {
			continue
		}
		var words []byte
		var start int
		if in.Sub == subMemoryFill {
			v, ok := constant(code, ins[k-2], wasmcode.OpI32Const)
			if !ok || v != 0 || n > MaxFill {
				continue
			}
			dst, at, ok := addressBefore(code, ins, k-2, uint64(n))
			if !ok {
				continue
			}
			words, start = clearWords(dst, uint32(n)), at
		} else {
			if n > MaxCopy {
				continue
			}
			src, at, ok := addressBefore(code, ins, k-1, uint64(n))
			if !ok {
				continue
			}
			dst, at, ok := addressBefore(code, ins, at, uint64(n))
			if !ok {
				continue
			}
			words, start = copyWords(dst, src, uint32(n)), at
		}
		if ins[start].Start < last {
			continue // not reached: an address never holds a memory instruction
		}
		if in.Sub == subMemoryFill {
			r.Fills++
		} else {
			r.Copies++
		}
		if out == nil {
			out = make([]byte, 0, len(code)+len(words))
		}
		out = append(out, code[last:ins[start].Start]...)
		out = append(out, words...)
		last = in.End
	}
	if out == nil {
		return code, nil
	}
	return append(out, code[last:]...), nil
}

// constant returns the value of an i32.const or i64.const of the given
// opcode.
func constant(code []byte, in wasmcode.Instr, op byte) (int64, bool) {
	if in.Op != op {
		return 0, false
	}
	max := 5
	if op == wasmcode.OpI64Const {
		max = 10
	}
	v, _, err := wasmcode.Sleb(code, in.Imm, max)
	return v, err == nil
}

// address is an address computed again for each word: the instructions
// that push its base, and its offset from it.
type address struct {
	base   []byte
	offset uint64
}

// addressBefore reads the address whose instructions end just before
// ins[end], in one of the package's shapes, and returns it with the index
// of its first instruction. size is how far past it the words go, which
// must keep every offset a u32.
func addressBefore(code []byte, ins []wasmcode.Instr, end int, size uint64) (address, int, bool) {
	if end < 2 || ins[end-1].Op != opI32WrapI64 {
		return address{}, 0, false
	}
	op := func(i int) byte {
		if i < 0 {
			return 0
		}
		return ins[i].Op
	}
	// bytesOf copies: a base may get more bytes appended.
	bytesOf := func(i int) []byte { return append([]byte(nil), code[ins[i].Start:ins[i].End]...) }
	var a address
	var start int
	switch {
	case op(end-5) == wasmcode.OpLocalGet && op(end-4) == opI64ExtendU32 && op(end-3) == wasmcode.OpI64Const && op(end-2) == opI64Add:
		c, ok := constant(code, ins[end-3], wasmcode.OpI64Const)
		if !ok || c < 0 {
			return address{}, 0, false
		}
		a, start = address{bytesOf(end - 5), uint64(c)}, end-5
	case op(end-3) == wasmcode.OpLocalGet && op(end-2) == opI64ExtendU32:
		a, start = address{bytesOf(end - 3), 0}, end-3
	case op(end-4) == wasmcode.OpLocalGet && op(end-3) == wasmcode.OpI64Const && op(end-2) == opI64Add:
		c, ok := constant(code, ins[end-3], wasmcode.OpI64Const)
		if !ok || c < 0 {
			return address{}, 0, false
		}
		a, start = address{append(bytesOf(end-4), opI32WrapI64), uint64(c)}, end-4
	case op(end-2) == wasmcode.OpLocalGet:
		a, start = address{append(bytesOf(end-2), opI32WrapI64), 0}, end-2
	case op(end-2) == wasmcode.OpI64Const:
		c, ok := constant(code, ins[end-2], wasmcode.OpI64Const)
		if !ok || c < 0 || c > wasmcode.MaxOffset {
			return address{}, 0, false
		}
		a, start = address{[]byte{wasmcode.OpI32Const, 0}, uint64(c)}, end-2
	default:
		return address{}, 0, false
	}
	if a.offset+size > wasmcode.MaxOffset {
		return address{}, 0, false
	}
	return a, start, true
}

// wordOffsets are the offsets of the words that cover n bytes (n >= 8):
// every whole word, then one ending at n when n is not a multiple of 8.
func wordOffsets(n uint32) []uint32 {
	var offs []uint32
	for k := uint32(0); k+8 <= n; k += 8 {
		offs = append(offs, k)
	}
	if n%8 != 0 {
		offs = append(offs, n-8)
	}
	return offs
}

// clearWords stores zero words over n bytes at dst.
func clearWords(dst address, n uint32) []byte {
	var b []byte
	for _, k := range wordOffsets(n) {
		b = append(b, dst.base...)
		b = append(b, wasmcode.OpI64Const, 0)
		b = memarg(b, opI64Store, dst.offset+uint64(k))
	}
	return b
}

// copyWords copies n bytes from src to dst, word by word.
func copyWords(dst, src address, n uint32) []byte {
	var b []byte
	for _, k := range wordOffsets(n) {
		b = append(b, dst.base...)
		b = append(b, src.base...)
		b = memarg(b, opI64Load, src.offset+uint64(k))
		b = memarg(b, opI64Store, dst.offset+uint64(k))
	}
	return b
}

// memarg appends a word load or store with its offset.
func memarg(b []byte, op byte, offset uint64) []byte {
	return wasmcode.AppendUleb(append(b, op, alignWord), uint32(offset), wasmcode.MinWidth(uint32(offset)))
}
