package wasishim

import (
	"fmt"

	"github.com/corswasm/corswasm/internal/wasmcode"
)

// rewriteBody returns body with every function index (call, ref.func) i
// replaced by index[i], and how many it rewrote and widened. An index is
// written in the width it had when the new value fits (Go's linker pads
// them), and in the fewest bytes otherwise. body itself is not modified.
func rewriteBody(body []byte, index []uint32) (out []byte, calls, widened int, err error) {
	last := 0 // body[last:] is not yet in out
	err = wasmcode.Decode(body, func(in wasmcode.Instr) error {
		if !in.HasFunc {
			return nil
		}
		if int(in.FuncIdx) >= len(index) {
			return fmt.Errorf("byte %d: function index %d, but the module has %d functions", in.Start, in.FuncIdx, len(index))
		}
		v := index[in.FuncIdx]
		calls++
		if v == in.FuncIdx {
			return nil
		}
		if out == nil {
			out = make([]byte, 0, len(body)+5)
		}
		out = append(out, body[last:in.FuncAt]...)
		width := in.FuncEnd - in.FuncAt
		if wasmcode.MinWidth(v) > width {
			width = wasmcode.MinWidth(v)
			widened++
		}
		out = wasmcode.AppendUleb(out, v, width)
		last = in.FuncEnd
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
