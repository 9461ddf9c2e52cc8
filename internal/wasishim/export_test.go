//go:build !wasip1

package wasishim

// Decode exposes the instruction reader to the tests of package
// wasishim_test, which compare whole modules instruction by instruction.
func Decode(body []byte, fn func(op byte, sub uint32, raw []byte, fnIdx int)) error {
	return decode(body, func(in instr) error {
		idx := -1
		raw := body[in.start:in.end]
		if in.hasFunc {
			idx = int(in.funcIdx)
			raw = body[in.start:in.funcAt] // the opcode; the index is compared mapped
		}
		fn(in.op, in.sub, raw, idx)
		return nil
	})
}

// Sections exposes the section walker.
var Sections = sections
