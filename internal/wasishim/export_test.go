//go:build !wasip1

package wasishim

import "github.com/corswasm/corswasm/internal/wasmcode"

// Decode exposes the instruction reader to the tests of package
// wasishim_test, which compare whole modules instruction by instruction.
func Decode(body []byte, fn func(op byte, sub uint32, raw []byte, fnIdx int)) error {
	return wasmcode.Decode(body, func(in wasmcode.Instr) error {
		idx := -1
		raw := body[in.Start:in.End]
		if in.HasFunc {
			idx = int(in.FuncIdx)
			raw = body[in.Start:in.FuncAt] // the opcode; the index is compared mapped
		}
		fn(in.Op, in.Sub, raw, idx)
		return nil
	})
}

// Sections exposes the section walker.
var Sections = wasmcode.Sections
