// Package wasmcode reads WebAssembly binaries at the level the project's
// post-link steps (packages wasishim, gojumps, goaddr, gomoves, gobools
// and gostubs) rewrite them: the sections of a module, and the
// instructions of a code body with where their bytes lie, so that a
// rewrite changes what it must and copies everything else byte for byte.
package wasmcode

import (
	"errors"
	"fmt"
)

// Instr is one instruction of a code body, as Decode reads it.
type Instr struct {
	Op         byte   // the opcode; 0xFC for the prefixed ones
	Sub        uint32 // the sub-opcode after 0xFC
	Start, End int    // the instruction's bytes in the body
	// Imm is where the first immediate starts (Start+1, or after the
	// sub-opcode of a prefixed instruction).
	Imm int
	// For call and ref.func: the function index and where its LEB128
	// encoding lies.
	HasFunc         bool
	FuncIdx         uint32
	FuncAt, FuncEnd int
}

// Opcodes with immediates (WebAssembly 2.0, binary format).
const (
	OpBlock, OpLoop, OpIf    = 0x02, 0x03, 0x04
	OpEnd                    = 0x0B
	OpBr, OpBrIf, OpBrTable  = 0x0C, 0x0D, 0x0E
	OpCall, OpCallIndirect   = 0x10, 0x11
	OpSelectTyped            = 0x1C
	OpLocalGet, OpLocalSet   = 0x20, 0x21
	OpTableSet               = 0x26 // local.get .. global.set, table.get, table.set
	OpLoadFirst, OpStoreLast = 0x28, 0x3E
	OpMemorySize, OpMemGrow  = 0x3F, 0x40
	OpI32Const, OpI64Const   = 0x41, 0x42
	OpF32Const, OpF64Const   = 0x43, 0x44
	OpI32Eqz                 = 0x45
	OpNumericFirst           = 0x45 // through 0xC4, sign extension included
	OpNumericLast            = 0xC4
	OpRefNull, OpRefIsNull   = 0xD0, 0xD1
	OpRefFunc                = 0xD2
	OpMiscPrefix             = 0xFC
)

// BlockTypeEmpty is the block type of a block, loop or if without
// parameters or results.
const BlockTypeEmpty = 0x40

// Instructions without immediates outside the numeric range: unreachable,
// nop, else, return, drop, select.
var bare = [256]bool{0x00: true, 0x01: true, 0x05: true, 0x0F: true, 0x1A: true, 0x1B: true, OpRefIsNull: true}

// Decode reads body (a code body after its locals) instruction by
// instruction and calls fn for each. It knows the MVP instructions, sign
// extension, the 0xFC prefix (saturating truncation, bulk memory, table
// instructions) and reference types; any other opcode is an error, as is a
// body whose final end is not its last byte.
func Decode(body []byte, fn func(in Instr) error) error {
	depth := 0
	for p := 0; p < len(body); {
		in := Instr{Op: body[p], Start: p, Imm: p + 1}
		q := p + 1
		var err error
		// u reads an unsigned LEB128 immediate of at most 5 bytes.
		u := func() uint32 {
			if err != nil {
				return 0
			}
			var v uint32
			var n int
			v, n, err = Uleb(body, q, 5)
			q += n
			return v
		}
		// s skips a signed LEB128 immediate of at most n bytes.
		s := func(max int) {
			if err != nil {
				return
			}
			var n int
			_, n, err = Sleb(body, q, max)
			q += n
		}
		// fixed skips n bytes.
		fixed := func(n int) {
			if err == nil && q+n > len(body) {
				err = errors.New("truncated immediate")
			}
			q += n
		}
		switch op := in.Op; {
		case bare[op], op >= OpNumericFirst && op <= OpNumericLast:
		case op == OpBlock, op == OpLoop, op == OpIf:
			depth++
			// A block type: 0x40 (none), a value type (one byte, 0x6F-0x7F)
			// or a type index as a signed 33-bit LEB128.
			if q < len(body) && (body[q] == BlockTypeEmpty || body[q] >= 0x6F && body[q] <= 0x7F) {
				q++
			} else {
				s(5)
			}
		case op == OpEnd:
			depth--
		case op == OpBr, op == OpBrIf:
			u()
		case op == OpBrTable:
			n := u()
			for i := uint32(0); i <= n && err == nil; i++ {
				u()
			}
		case op == OpCall, op == OpRefFunc:
			in.HasFunc, in.FuncAt = true, q
			in.FuncIdx = u()
			in.FuncEnd = q
		case op == OpCallIndirect:
			u() // type
			u() // table
		case op == OpSelectTyped:
			n := u()
			fixed(int(n))
		case op >= OpLocalGet && op <= OpTableSet:
			u()
		case op >= OpLoadFirst && op <= OpStoreLast:
			u() // alignment
			u() // offset
		case op == OpMemorySize, op == OpMemGrow:
			u() // memory index
		case op == OpI32Const:
			s(5)
		case op == OpI64Const:
			s(10)
		case op == OpF32Const:
			fixed(4)
		case op == OpF64Const:
			fixed(8)
		case op == OpRefNull:
			fixed(1)
		case op == OpMiscPrefix:
			in.Sub = u()
			in.Imm = q
			switch in.Sub {
			case 0, 1, 2, 3, 4, 5, 6, 7: // trunc_sat
			case 8: // memory.init data, memory
				u()
				u()
			case 9, 11, 13, 15, 16, 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
				u()
			case 10, 12, 14: // memory.copy, table.init, table.copy
				u()
				u()
			default:
				if err == nil {
					err = fmt.Errorf("unknown instruction 0xFC %d", in.Sub)
				}
			}
		default:
			return fmt.Errorf("byte %d: unknown opcode 0x%02X: refusing to rewrite a body it cannot fully read", p, op)
		}
		if err != nil {
			return fmt.Errorf("byte %d: opcode 0x%02X: %w", p, in.Op, err)
		}
		if q > len(body) {
			return fmt.Errorf("byte %d: opcode 0x%02X: truncated immediate", p, in.Op)
		}
		in.End = q
		if depth < 0 && q != len(body) {
			return fmt.Errorf("byte %d: the function's end comes before the last of its %d bytes", p, len(body))
		}
		if err := fn(in); err != nil {
			return err
		}
		p = q
	}
	if depth != -1 {
		return errors.New("the body does not close with end")
	}
	return nil
}

// DecodeAll is Decode into a slice: the instructions of body, in order.
func DecodeAll(body []byte) ([]Instr, error) {
	var ins []Instr
	err := Decode(body, func(in Instr) error {
		ins = append(ins, in)
		return nil
	})
	return ins, err
}

// Uleb reads an unsigned LEB128 number of at most max bytes at b[p:], and
// returns it with its length.
func Uleb(b []byte, p, max int) (uint32, int, error) {
	var v uint64
	for i := 0; i < max; i++ {
		if p+i >= len(b) {
			return 0, 0, errors.New("truncated LEB128 number")
		}
		c := b[p+i]
		v |= uint64(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			if v > 0xFFFFFFFF {
				return 0, 0, errors.New("LEB128 number over 32 bits")
			}
			return uint32(v), i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("LEB128 number longer than %d bytes", max)
}

// Sleb reads a signed LEB128 number of at most max bytes (at most 10) at
// b[p:], and returns it with its length.
func Sleb(b []byte, p, max int) (int64, int, error) {
	var v int64
	for i := 0; i < max; i++ {
		if p+i >= len(b) {
			return 0, 0, errors.New("truncated LEB128 number")
		}
		c := b[p+i]
		shift := uint(7 * i)
		v |= int64(c&0x7F) << shift
		if c&0x80 == 0 {
			if shift+7 < 64 && c&0x40 != 0 {
				v |= -1 << (shift + 7) // sign-extend
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("LEB128 number longer than %d bytes", max)
}

// MinWidth is the number of bytes of v's shortest unsigned LEB128 encoding.
func MinWidth(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// AppendUleb appends v as an unsigned LEB128 number of exactly width bytes
// (width >= MinWidth(v)), padding with continuation bytes as Go's linker
// does.
func AppendUleb(b []byte, v uint32, width int) []byte {
	for i := 0; i < width-1; i++ {
		b = append(b, byte(v&0x7F)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// AppendSleb appends v as a signed LEB128 number of as few bytes as it
// takes, as Sleb reads it.
func AppendSleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// Sections calls fn for each section of a module's bytes: its id, where the
// section starts (its id byte) and where its payload starts and ends.
func Sections(module []byte, fn func(id byte, start, payload, end int) error) error {
	if len(module) < 8 {
		return errors.New("not a WebAssembly module: shorter than its header")
	}
	for p := 8; p < len(module); {
		id := module[p]
		size, n, err := Uleb(module, p+1, 5)
		if err != nil {
			return fmt.Errorf("section at byte %d: size: %w", p, err)
		}
		payload := p + 1 + n
		end := payload + int(size)
		if end > len(module) {
			return fmt.Errorf("section %d at byte %d runs past the end of the module", id, p)
		}
		if err := fn(id, p, payload, end); err != nil {
			return err
		}
		p = end
	}
	return nil
}

const sectionCode = 10

// MaxOffset is the largest offset a load or store takes: a memarg offset
// is a u32.
const MaxOffset = 1<<32 - 1

// RewriteFuncs is RewriteCode for a rewrite that keeps a report of type R
// across the module's functions: fn rewrites one function's instructions
// and adds to the report. It returns the module and the report, or the
// first error with an empty report.
func RewriteFuncs[R any](module []byte, fn func(instrs []byte, r *R) ([]byte, error)) ([]byte, R, error) {
	var r R
	out, err := RewriteCode(module, func(instrs []byte) ([]byte, error) { return fn(instrs, &r) })
	if err != nil {
		var zero R
		return nil, zero, err
	}
	return out, r, nil
}

// RewriteCode returns module with the instructions of each function of its
// code section replaced by what fn returns for them (the function's
// locals are kept); every other section is copied as it is. It returns
// module itself when it has no code section.
func RewriteCode(module []byte, fn func(instrs []byte) ([]byte, error)) ([]byte, error) {
	var out []byte
	err := Sections(module, func(id byte, start, payload, end int) error {
		if id != sectionCode {
			return nil
		}
		code, err := rewriteBodies(module[payload:end], fn)
		if err != nil {
			return err
		}
		out = make([]byte, 0, len(module))
		out = append(out, module[:start]...)
		out = append(out, sectionCode)
		out = AppendUleb(out, uint32(len(code)), MinWidth(uint32(len(code))))
		out = append(out, code...)
		out = append(out, module[end:]...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return module, nil
	}
	return out, nil
}

// rewriteBodies rewrites the payload of a code section: a count, then each
// function's size and body (its locals, then its instructions).
func rewriteBodies(sec []byte, fn func(instrs []byte) ([]byte, error)) ([]byte, error) {
	_, n, err := Uleb(sec, 0, 5)
	if err != nil {
		return nil, fmt.Errorf("code section: count: %w", err)
	}
	out := append(make([]byte, 0, len(sec)), sec[:n]...) // the count, as it is
	err = walkBodies(sec, func(i uint32, locals, instrs []byte) error {
		code, err := fn(instrs)
		if err != nil {
			return fmt.Errorf("code body %d: %w", i, err)
		}
		newSize := uint32(len(locals) + len(code))
		out = AppendUleb(out, newSize, MinWidth(newSize))
		out = append(out, locals...)
		out = append(out, code...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// walkBodies reads the payload of a code section and calls fn with each
// body's index, locals and instructions.
func walkBodies(sec []byte, fn func(i uint32, locals, instrs []byte) error) error {
	count, n, err := Uleb(sec, 0, 5)
	if err != nil {
		return fmt.Errorf("code section: count: %w", err)
	}
	p := n
	for i := range count {
		size, n, err := Uleb(sec, p, 5)
		if err != nil {
			return fmt.Errorf("code body %d: size: %w", i, err)
		}
		body := p + n
		end := body + int(size)
		if end > len(sec) {
			return fmt.Errorf("code body %d runs past the end of the code section", i)
		}
		instrs, err := skipLocals(sec[body:end])
		if err != nil {
			return fmt.Errorf("code body %d: %w", i, err)
		}
		if err := fn(i, sec[body:body+instrs], sec[body+instrs:end]); err != nil {
			return err
		}
		p = end
	}
	if p != len(sec) {
		return fmt.Errorf("code section: %d bytes after its %d bodies", len(sec)-p, count)
	}
	return nil
}

// FuncBody returns the instructions of the i-th function module defines
// (the i-th code body), after its locals and without the end that closes
// it: what the rewrites change, for a test to compare.
func FuncBody(module []byte, i int) ([]byte, error) {
	var body []byte
	err := Sections(module, func(id byte, start, payload, end int) error {
		if id != sectionCode {
			return nil
		}
		return walkBodies(module[payload:end], func(k uint32, _, instrs []byte) error {
			if int(k) == i {
				body = instrs
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(body) == 0 || body[len(body)-1] != OpEnd {
		return nil, fmt.Errorf("no code body %d ending with end", i)
	}
	return body[:len(body)-1], nil
}

// skipLocals returns where the instructions of a code body start.
func skipLocals(body []byte) (int, error) {
	groups, p, err := Uleb(body, 0, 5)
	if err != nil {
		return 0, fmt.Errorf("locals: %w", err)
	}
	for range groups {
		_, n, err := Uleb(body, p, 5)
		if err != nil {
			return 0, fmt.Errorf("locals: %w", err)
		}
		p += n + 1 // the count, then the value type
	}
	if p > len(body) {
		return 0, errors.New("locals run past the end of the body")
	}
	return p, nil
}

// Section IDs besides sectionCode.
const (
	sectionData      = 11
	sectionDataCount = 12
)

// InsertDataCount puts a data count section holding count before the code
// section of module (or before the data section when there is no code), as
// the format orders them. It restores the section that wabin's encoder
// drops (github.com/tetratelabs/wabin/binary.EncodeModule).
func InsertDataCount(module []byte, count uint32) ([]byte, error) {
	at := -1
	err := Sections(module, func(id byte, start, _, _ int) error {
		if at < 0 && (id == sectionCode || id == sectionData) {
			at = start
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if at < 0 {
		return nil, errors.New("a data count section but neither code nor data to put it before")
	}
	payload := AppendUleb(nil, count, MinWidth(count))
	section := append([]byte{sectionDataCount}, AppendUleb(nil, uint32(len(payload)), MinWidth(uint32(len(payload))))...)
	section = append(section, payload...)
	return append(append(append(make([]byte, 0, len(module)+len(section)), module[:at]...), section...), module[at:]...), nil
}
