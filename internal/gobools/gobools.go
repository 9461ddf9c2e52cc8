// Package gobools shortens the boolean tests of Go's WebAssembly code: a
// post-link step, run after package gomoves's, that changes how a
// condition is computed and nothing it decides.
//
// Go's compiler (cmd/internal/obj/wasm) keeps a boolean in an i64
// register, so a test of x == 0 that feeds a branch reads
//
//	i64.eqz; i64.extend_i32_u; i64.eqz; i32.eqz; if
//
// the comparison's i32 widened to the register's i64, then tested again
// for the branch, which takes an i32. A compiler without an optimizer of
// its own (wazero's, WAMR's interpreter and fast JIT) makes a comparison,
// a flag set and a widening of each. Rewrite applies three identities,
// each true of every value, to the instructions as they come, so that one
// can feed the next:
//
//	i64.extend_i32_u; i64.eqz  ->  i32.eqz      (x widened is 0 when x is)
//	C; i32.eqz; i32.eqz        ->  C            (C a comparison: 0 or 1)
//	i32.eqz; i32.eqz; B        ->  B            (B if, br_if or select:
//	                                             they test for not 0)
//
// and the example above becomes i64.eqz; if. The instructions rewritten
// are consecutive and none ends or starts a block, so the code's
// structure, its branches and every other instruction stay as they are.
//
// Rewrite refuses, with an error, a module it cannot fully read.
package gobools

import "github.com/corswasm/corswasm/internal/wasmcode"

// Report says what Rewrite did.
type Report struct {
	// Removed is the number of instructions the identities removed.
	Removed int
	// Negations is the number of double tests for zero written as one
	// comparison with 0.
	Negations int
}

// Opcodes of the identities, besides wasmcode's.
const (
	opSelect         = 0x1B
	opI64Eqz         = 0x50
	opI64ExtendI32U  = 0xAD
	opI32Ne          = 0x47
	opI64Ne          = 0x52
	opLastComparison = 0x66 // f64.ge: i32.eqz through it all give 0 or 1
)

// Rewrite returns module with the boolean tests of its code shortened
// (see the package documentation), and what it did. Every section but the
// code section is copied as it is. Rewriting a rewritten module changes
// nothing.
func Rewrite(module []byte) ([]byte, Report, error) {
	return wasmcode.RewriteFuncs(module, rewriteFunc)
}

// rewriteFunc rewrites the instructions of one function: the identities
// first, then the negations of a zero test that are left.
func rewriteFunc(code []byte, r *Report) ([]byte, error) {
	out, n, err := pass(code, identities)
	if err != nil {
		return nil, err
	}
	out, m, err := pass(out, negations)
	if err != nil {
		return nil, err
	}
	r.Removed += n
	r.Negations += m
	return out, nil
}

// A tail is the instructions a pass has written so far: their bytes, and
// the opcode and start of each (opcode 0 for a prefixed instruction, which
// takes part in no rule).
type tail struct {
	out    []byte
	ops    []byte
	starts []int
}

func (t *tail) push(op byte, b []byte) {
	t.starts = append(t.starts, len(t.out))
	t.ops = append(t.ops, op)
	t.out = append(t.out, b...)
}

// cut keeps the first n instructions.
func (t *tail) cut(n int) {
	t.out, t.ops, t.starts = t.out[:t.starts[n]], t.ops[:n], t.starts[:n]
}

// pass writes code's instructions one by one, letting rule rewrite the
// tail after each until it declines; it returns the code and what the
// rule counted.
func pass(code []byte, rule func(t *tail) int) ([]byte, int, error) {
	ins, err := wasmcode.DecodeAll(code)
	if err != nil {
		return nil, 0, err
	}
	t := tail{out: make([]byte, 0, len(code))}
	total := 0
	for _, in := range ins {
		op := in.Op
		if op == wasmcode.OpMiscPrefix {
			op = 0
		}
		t.push(op, code[in.Start:in.End])
		for {
			n := rule(&t)
			if n == 0 {
				break
			}
			total += n
		}
	}
	if total == 0 {
		return code, 0, nil
	}
	return t.out, total, nil
}

// identities applies the identities that remove instructions to the
// tail, and returns how many it removed (0: none applied).
func identities(t *tail) int {
	ops := t.ops
	n := len(ops)
	switch {
	case n >= 2 && ops[n-2] == opI64ExtendI32U && ops[n-1] == opI64Eqz:
		// extend_u(x) == 0 exactly when x == 0.
		t.cut(n - 2)
		t.push(wasmcode.OpI32Eqz, []byte{wasmcode.OpI32Eqz})
		return 1
	case n >= 2 && inverse[ops[n-2]] != 0 && ops[n-1] == wasmcode.OpI32Eqz:
		// The opposite comparison, for integers (for floats, NaN
		// compares false both ways).
		op := inverse[ops[n-2]]
		t.cut(n - 2)
		t.push(op, []byte{op})
		return 1
	case n >= 3 && isComparison(ops[n-3]) && ops[n-2] == wasmcode.OpI32Eqz && ops[n-1] == wasmcode.OpI32Eqz:
		t.cut(n - 2)
		return 2
	case n >= 3 && ops[n-3] == wasmcode.OpI32Eqz && ops[n-2] == wasmcode.OpI32Eqz && testsNonZero(ops[n-1]):
		last := append([]byte(nil), t.out[t.starts[n-1]:]...)
		t.cut(n - 3)
		t.push(last[0], last)
		return 2
	}
	return 0
}

// negations writes a test for zero that is then negated, x == 0 == 0, as
// one comparison with 0, x != 0, which a compiler without an optimizer
// makes a comparison instead of two with a flag set between them. It
// returns 1 when it rewrote one.
func negations(t *tail) int {
	ops := t.ops
	n := len(ops)
	if n < 2 || ops[n-1] != wasmcode.OpI32Eqz {
		return 0
	}
	switch ops[n-2] {
	case opI64Eqz:
		t.cut(n - 2)
		t.push(wasmcode.OpI64Const, []byte{wasmcode.OpI64Const, 0})
		t.push(opI64Ne, []byte{opI64Ne})
		return 1
	case wasmcode.OpI32Eqz:
		t.cut(n - 2)
		t.push(wasmcode.OpI32Const, []byte{wasmcode.OpI32Const, 0})
		t.push(opI32Ne, []byte{opI32Ne})
		return 1
	}
	return 0
}

// inverse maps each integer comparison to its opposite.
var inverse = func() (inv [256]byte) {
	for _, p := range [][2]byte{
		{0x46, 0x47}, // i32.eq, i32.ne
		{0x48, 0x4E}, // i32.lt_s, i32.ge_s
		{0x49, 0x4F}, // i32.lt_u, i32.ge_u
		{0x4A, 0x4C}, // i32.gt_s, i32.le_s
		{0x4B, 0x4D}, // i32.gt_u, i32.le_u
		{0x51, 0x52}, // i64.eq, i64.ne
		{0x53, 0x59}, // i64.lt_s, i64.ge_s
		{0x54, 0x5A}, // i64.lt_u, i64.ge_u
		{0x55, 0x57}, // i64.gt_s, i64.le_s
		{0x56, 0x58}, // i64.gt_u, i64.le_u
	} {
		inv[p[0]], inv[p[1]] = p[1], p[0]
	}
	return inv
}()

// isComparison says whether op leaves 0 or 1: i32.eqz and the integer and
// float comparisons.
func isComparison(op byte) bool { return op >= wasmcode.OpI32Eqz && op <= opLastComparison }

// testsNonZero says whether op takes an i32 condition from the top of the
// stack and only asks whether it is 0.
func testsNonZero(op byte) bool {
	return op == wasmcode.OpIf || op == wasmcode.OpBrIf || op == opSelect || op == wasmcode.OpSelectTyped
}
