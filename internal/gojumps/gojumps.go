// Package gojumps makes the jumps of Go's WebAssembly code direct where
// WebAssembly's structured control flow allows it: a post-link step, run
// after package wasishim's, that changes how the code branches and nothing
// it computes.
//
// Go's compiler (cmd/internal/obj/wasm) makes each function one loop whose
// head is a nest of empty blocks and a br_table on the function's PC_B
// local (its first parameter): the code of basic block K follows the end
// of the block the table's entry K names. A jump to block K sets PC_B to K
// and branches back to the loop's head, where the br_table branches to K.
// A call enters the function with PC_B = 0 and goes through the table too.
// For the engine that compiles the module, every jump of the function then
// meets at one indirect branch.
//
// A jump forward, to a block whose end is after the jump and which encloses
// it, can branch there directly: a br to that block lands where the
// br_table would have sent it. Rewrite makes every such jump direct,
// keeping the local.set (PC_B holds what it held before), and puts a br_if
// before each function's br_table that takes PC_B = 0 straight to entry 0's
// block. Jumps backward (loops) and resumptions after a goroutine switch
// still go through the table. Measured on this project's engine (BENCHMARKS.md):
// about 20% less time in wazero and 25% less in V8.
//
// Rewrite refuses, with an error, a module it cannot fully read, and leaves
// alone any function that does not open with Go's dispatch nest.
package gojumps

import "github.com/corswasm/corswasm/internal/wasmcode"

// Report says what Rewrite did.
type Report struct {
	// Functions is the number of functions that open with Go's dispatch
	// nest; Entries how many of them got the br_if for PC_B = 0 (those that
	// already had it are not counted).
	Functions, Entries int
	// Direct is the number of jumps made direct, and Backward the number of
	// jumps left to the dispatch because their target is not ahead of them.
	Direct, Backward int
}

// Rewrite returns module with the jumps of its Go functions made direct
// (see the package documentation), and what it did. Every section but the
// code section is copied as it is. Rewriting a rewritten module changes
// nothing.
func Rewrite(module []byte) ([]byte, Report, error) {
	return wasmcode.RewriteFuncs(module, rewriteFunc)
}

// dispatch is Go's dispatch nest at the head of a function: the indexes
// (into the function's instructions) of the loop and of the block each
// br_table entry names, the PC_B local, and where the br_table is.
type dispatch struct {
	loop    int
	targets []int // by PC_B value; the last is the table's default
	pcLocal uint32
	get     int  // the local.get of PC_B before the br_table
	table   int  // the br_table
	entry   bool // a br_if for PC_B = 0 is already there
	// label0 is the encoded label of the table's entry 0, for that br_if.
	label0 []byte
}

// target is the block the dispatch branches to for PC_B = k.
func (d *dispatch) target(k int64) int {
	if k >= 0 && k < int64(len(d.targets)-1) {
		return d.targets[k]
	}
	return d.targets[len(d.targets)-1]
}

// findDispatch recognizes Go's dispatch nest: instructions without control
// flow, an optional block (the unwind exit), the loop, one or more empty
// blocks, local.get of PC_B and a br_table naming only those blocks,
// optionally preceded by a rewrite's local.get, i32.eqz, br_if. ok is false
// for any other function.
func findDispatch(code []byte, ins []wasmcode.Instr) (d dispatch, ok bool, err error) {
	i := 0
	for i < len(ins) && !isControl(ins[i].Op) {
		i++
	}
	if i < len(ins) && ins[i].Op == wasmcode.OpBlock && emptyType(code, ins[i]) {
		i++
	}
	if i >= len(ins) || ins[i].Op != wasmcode.OpLoop || !emptyType(code, ins[i]) {
		return d, false, nil
	}
	d.loop = i
	i++
	var nest []int
	for i < len(ins) && ins[i].Op == wasmcode.OpBlock && emptyType(code, ins[i]) {
		nest = append(nest, i)
		i++
	}
	if len(nest) == 0 || i >= len(ins) || ins[i].Op != wasmcode.OpLocalGet {
		return d, false, nil
	}
	d.pcLocal, _, err = wasmcode.Uleb(code, ins[i].Imm, 5)
	if err != nil {
		return d, false, err
	}
	if i+4 < len(ins) && ins[i+1].Op == wasmcode.OpI32Eqz && ins[i+2].Op == wasmcode.OpBrIf &&
		ins[i+3].Op == wasmcode.OpLocalGet && ins[i+4].Op == wasmcode.OpBrTable {
		if l, _, err := wasmcode.Uleb(code, ins[i+3].Imm, 5); err == nil && l == d.pcLocal {
			d.entry = true
			i += 3
		}
	}
	if i+1 >= len(ins) || ins[i+1].Op != wasmcode.OpBrTable {
		return d, false, nil
	}
	d.get, d.table = i, i+1
	q := ins[d.table].Imm
	n, w, err := wasmcode.Uleb(code, q, 5)
	if err != nil {
		return d, false, err
	}
	q += w
	d.targets = make([]int, n+1)
	for k := range d.targets {
		label, w, err := wasmcode.Uleb(code, q, 5)
		if err != nil {
			return d, false, err
		}
		if k == 0 {
			d.label0 = code[q : q+w]
		}
		q += w
		if int(label) >= len(nest) {
			return d, false, nil // a label outside the nest: not Go's dispatch
		}
		d.targets[k] = nest[len(nest)-1-int(label)]
	}
	return d, true, nil
}

// isControl reports whether op is an instruction that ends the straight
// code at a function's start.
func isControl(op byte) bool {
	switch op {
	case wasmcode.OpBlock, wasmcode.OpLoop, wasmcode.OpIf, wasmcode.OpEnd,
		wasmcode.OpBr, wasmcode.OpBrIf, wasmcode.OpBrTable, 0x05 /* else */, 0x0F /* return */, 0x00 /* unreachable */ :
		return true
	}
	return false
}

// emptyType reports whether a block, loop or if has the empty block type.
func emptyType(code []byte, in wasmcode.Instr) bool {
	return in.Imm < len(code) && code[in.Imm] == wasmcode.BlockTypeEmpty
}

// rewriteFunc rewrites the instructions of one function.
func rewriteFunc(code []byte, r *Report) ([]byte, error) {
	ins, err := wasmcode.DecodeAll(code)
	if err != nil {
		return nil, err
	}
	d, ok, err := findDispatch(code, ins)
	if err != nil || !ok {
		return code, err
	}
	r.Functions++

	out := make([]byte, 0, len(code)+8)
	last := 0 // code[last:] is not yet in out
	if !d.entry {
		// local.get PC_B; i32.eqz; br_if <entry 0's label>; then the
		// original local.get PC_B; br_table. The br_if sits where the
		// br_table does, so the table's label for entry 0 is its label.
		out = append(out, code[:ins[d.get].End]...)
		out = append(out, wasmcode.OpI32Eqz, wasmcode.OpBrIf)
		out = append(out, d.label0...)
		last = ins[d.get].Start
		r.Entries++
	}

	var stack []int // the open block, loop and if, by instruction index
	for k, in := range ins {
		switch in.Op {
		case wasmcode.OpBlock, wasmcode.OpLoop, wasmcode.OpIf:
			stack = append(stack, k)
			continue
		case wasmcode.OpEnd:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		case wasmcode.OpBr:
		default:
			continue
		}
		pc, ok, err := jumpTarget(code, ins, k, d.pcLocal)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		depth, _, err := wasmcode.Uleb(code, in.Imm, 5)
		if err != nil {
			return nil, err
		}
		if int(depth) >= len(stack) || stack[len(stack)-1-int(depth)] != d.loop {
			continue // a br to another label: not a jump to a basic block
		}
		at := -1
		for s := len(stack) - 1; s >= 0 && stack[s] > d.loop; s-- {
			if stack[s] == d.target(pc) {
				at = s
				break
			}
		}
		if at < 0 {
			r.Backward++
			continue
		}
		direct := uint32(len(stack) - 1 - at)
		out = append(out, code[last:in.Imm]...)
		out = wasmcode.AppendUleb(out, direct, wasmcode.MinWidth(direct))
		last = in.End
		r.Direct++
	}
	return append(out, code[last:]...), nil
}

// jumpTarget reads the jump to a basic block that ends with the br at
// ins[k]: i32.const K, local.set PC_B, br. ok is false for any other br.
func jumpTarget(code []byte, ins []wasmcode.Instr, k int, pcLocal uint32) (pc int64, ok bool, err error) {
	if k < 2 || ins[k-1].Op != wasmcode.OpLocalSet || ins[k-2].Op != wasmcode.OpI32Const {
		return 0, false, nil
	}
	l, _, err := wasmcode.Uleb(code, ins[k-1].Imm, 5)
	if err != nil || l != pcLocal {
		return 0, false, err
	}
	pc, _, err = wasmcode.Sleb(code, ins[k-2].Imm, 5)
	return pc, err == nil, err
}
