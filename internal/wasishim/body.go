package wasishim

import (
	"errors"
	"fmt"
)

// instr is one instruction of a code body, as decode reads it.
type instr struct {
	op         byte   // the opcode; 0xFC for the prefixed ones
	sub        uint32 // the sub-opcode after 0xFC
	start, end int    // the instruction's bytes in the body
	// For call and ref.func: the function index and where its LEB128
	// encoding lies.
	hasFunc         bool
	funcIdx         uint32
	funcAt, funcEnd int
}

// Opcodes with immediates (WebAssembly 2.0, binary format).
const (
	opBlock, opLoop, opIf    = 0x02, 0x03, 0x04
	opEnd                    = 0x0B
	opBr, opBrIf, opBrTable  = 0x0C, 0x0D, 0x0E
	opCall, opCallIndirect   = 0x10, 0x11
	opSelectTyped            = 0x1C
	opLocalGet, opTableSet   = 0x20, 0x26 // local.get .. global.set, table.get, table.set
	opLoadFirst, opStoreLast = 0x28, 0x3E
	opMemorySize, opMemGrow  = 0x3F, 0x40
	opI32Const, opI64Const   = 0x41, 0x42
	opF32Const, opF64Const   = 0x43, 0x44
	opNumericFirst           = 0x45 // through 0xC4, sign extension included
	opNumericLast            = 0xC4
	opRefNull, opRefIsNull   = 0xD0, 0xD1
	opRefFunc                = 0xD2
	opMiscPrefix             = 0xFC
)

// Instructions without immediates outside the numeric range: unreachable,
// nop, else, return, drop, select.
var bare = [256]bool{0x00: true, 0x01: true, 0x05: true, 0x0F: true, 0x1A: true, 0x1B: true, opRefIsNull: true}

// decode reads body (a code body after its locals) instruction by
// instruction and calls fn for each. It knows the MVP instructions, sign
// extension, the 0xFC prefix (saturating truncation, bulk memory, table
// instructions) and reference types; any other opcode is an error, as is a
// body whose final end is not its last byte.
func decode(body []byte, fn func(in instr) error) error {
	depth := 0
	for p := 0; p < len(body); {
		in := instr{op: body[p], start: p}
		q := p + 1
		var err error
		// u reads an unsigned LEB128 immediate of at most 5 bytes.
		u := func() uint32 {
			if err != nil {
				return 0
			}
			var v uint32
			var n int
			v, n, err = uleb(body, q, 5)
			q += n
			return v
		}
		// s skips a signed LEB128 immediate of at most n bytes.
		s := func(max int) {
			if err != nil {
				return
			}
			var n int
			n, err = sleb(body, q, max)
			q += n
		}
		// fixed skips n bytes.
		fixed := func(n int) {
			if err == nil && q+n > len(body) {
				err = errors.New("truncated immediate")
			}
			q += n
		}
		switch op := in.op; {
		case bare[op], op >= opNumericFirst && op <= opNumericLast:
		case op == opBlock, op == opLoop, op == opIf:
			depth++
			// A block type: 0x40 (none), a value type (one byte, 0x6F-0x7F)
			// or a type index as a signed 33-bit LEB128.
			if q < len(body) && (body[q] == 0x40 || body[q] >= 0x6F && body[q] <= 0x7F) {
				q++
			} else {
				s(5)
			}
		case op == opEnd:
			depth--
		case op == opBr, op == opBrIf:
			u()
		case op == opBrTable:
			n := u()
			for i := uint32(0); i <= n && err == nil; i++ {
				u()
			}
		case op == opCall, op == opRefFunc:
			in.hasFunc, in.funcAt = true, q
			in.funcIdx = u()
			in.funcEnd = q
		case op == opCallIndirect:
			u() // type
			u() // table
		case op == opSelectTyped:
			n := u()
			fixed(int(n))
		case op >= opLocalGet && op <= opTableSet:
			u()
		case op >= opLoadFirst && op <= opStoreLast:
			u() // alignment
			u() // offset
		case op == opMemorySize, op == opMemGrow:
			u() // memory index
		case op == opI32Const:
			s(5)
		case op == opI64Const:
			s(10)
		case op == opF32Const:
			fixed(4)
		case op == opF64Const:
			fixed(8)
		case op == opRefNull:
			fixed(1)
		case op == opMiscPrefix:
			in.sub = u()
			switch in.sub {
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
					err = fmt.Errorf("unknown instruction 0xFC %d", in.sub)
				}
			}
		default:
			return fmt.Errorf("byte %d: unknown opcode 0x%02X: refusing to rewrite a body it cannot fully read", p, op)
		}
		if err != nil {
			return fmt.Errorf("byte %d: opcode 0x%02X: %w", p, in.op, err)
		}
		if q > len(body) {
			return fmt.Errorf("byte %d: opcode 0x%02X: truncated immediate", p, in.op)
		}
		in.end = q
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

// rewriteBody returns body with every function index (call, ref.func) i
// replaced by index[i], and how many it rewrote and widened. An index is
// written in the width it had when the new value fits (Go's linker pads
// them), and in the fewest bytes otherwise. body itself is not modified.
func rewriteBody(body []byte, index []uint32) (out []byte, calls, widened int, err error) {
	last := 0 // body[last:] is not yet in out
	err = decode(body, func(in instr) error {
		if !in.hasFunc {
			return nil
		}
		if int(in.funcIdx) >= len(index) {
			return fmt.Errorf("byte %d: function index %d, but the module has %d functions", in.start, in.funcIdx, len(index))
		}
		v := index[in.funcIdx]
		calls++
		if v == in.funcIdx {
			return nil
		}
		if out == nil {
			out = make([]byte, 0, len(body)+5)
		}
		out = append(out, body[last:in.funcAt]...)
		width := in.funcEnd - in.funcAt
		if minWidth(v) > width {
			width = minWidth(v)
			widened++
		}
		out = appendUleb(out, v, width)
		last = in.funcEnd
		return nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	if out == nil {
		return body, calls, 0, nil
	}
	return append(out, body[last:]...), calls, widened, nil
}

// uleb reads an unsigned LEB128 number of at most max bytes at b[p:], and
// returns it with its length.
func uleb(b []byte, p, max int) (uint32, int, error) {
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

// sleb returns the length of the signed LEB128 number of at most max bytes
// at b[p:].
func sleb(b []byte, p, max int) (int, error) {
	for i := 0; i < max; i++ {
		if p+i >= len(b) {
			return 0, errors.New("truncated LEB128 number")
		}
		if b[p+i]&0x80 == 0 {
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("LEB128 number longer than %d bytes", max)
}

// minWidth is the number of bytes of v's shortest unsigned LEB128 encoding.
func minWidth(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendUleb appends v as an unsigned LEB128 number of exactly width bytes
// (width >= minWidth(v)), padding with continuation bytes as Go's linker
// does.
func appendUleb(b []byte, v uint32, width int) []byte {
	for i := 0; i < width-1; i++ {
		b = append(b, byte(v&0x7F)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
