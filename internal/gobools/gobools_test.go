//go:build !wasip1

package gobools_test

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/corswasm/corswasm/internal/gobools"
	"github.com/corswasm/corswasm/internal/wasmcode"
	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"
)

// Opcodes the tests use besides wasmcode's.
const (
	opElse, opSelect            = 0x05, 0x1B
	opI32Ne, opI32LtU           = 0x47, 0x49
	opI64Eqz, opI64Ne, opI64LtS = 0x50, 0x52, 0x53
	opI64GeS                    = 0x59
	opF64Lt, opF64Ge            = 0x63, 0x66
	opI32WrapI64, opI64ExtendU  = 0xA7, 0xAD
	opF64ReinterpretI64         = 0xBF
	typeI64                     = 0x7E
)

// The test functions take x and y, two i64, and return an i64.
const x, y = 0, 1

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func get(l byte) []byte { return []byte{wasmcode.OpLocalGet, l} }

// ifElse turns the i32 on the stack into 1 (not 0) or 2 (0).
var ifElse = []byte{wasmcode.OpIf, typeI64, wasmcode.OpI64Const, 1, opElse, wasmcode.OpI64Const, 2, wasmcode.OpEnd}

// moduleOf wraps the instructions of one function (x, y i64) -> i64.
func moduleOf(instrs []byte) []byte {
	i64 := wasm.ValueTypeI64
	m := &wasm.Module{
		TypeSection:     []*wasm.FunctionType{{Params: []wasm.ValueType{i64, i64}, Results: []wasm.ValueType{i64}}},
		FunctionSection: []wasm.Index{0},
		CodeSection:     []*wasm.Code{{Body: append(bytes.Clone(instrs), wasmcode.OpEnd)}},
		ExportSection:   []*wasm.Export{{Type: wasm.ExternTypeFunc, Name: "f", Index: 0}},
	}
	return wabin.EncodeModule(m)
}

// The functions of both tests: Go's shapes, and shapes left alone.
var cases = []struct {
	name               string
	in, want           []byte // want nil: left as it is
	removed, negations int
}{
	{"Go's test of x == 0 for a branch becomes one comparison",
		cat(get(x), []byte{opI64Eqz, opI64ExtendU, opI64Eqz, wasmcode.OpI32Eqz}, ifElse),
		cat(get(x), []byte{opI64Eqz}, ifElse), 3, 0},
	{"a zero test of a widened i32 is the i32's",
		cat(get(x), []byte{opI32WrapI64, opI64ExtendU, opI64Eqz, opI64ExtendU}),
		cat(get(x), []byte{opI32WrapI64, wasmcode.OpI32Eqz, opI64ExtendU}), 1, 0},
	{"a negated integer comparison is the opposite one",
		cat(get(x), get(y), []byte{opI64LtS, wasmcode.OpI32Eqz, opI64ExtendU}),
		cat(get(x), get(y), []byte{opI64GeS, opI64ExtendU}), 1, 0},
	{"an i32 comparison negated twice is itself",
		cat(get(x), []byte{opI32WrapI64}, get(y), []byte{opI32WrapI64, opI32LtU, wasmcode.OpI32Eqz, wasmcode.OpI32Eqz, opI64ExtendU}),
		cat(get(x), []byte{opI32WrapI64}, get(y), []byte{opI32WrapI64, opI32LtU, opI64ExtendU}), 2, 0},
	{"a float comparison negated twice is itself",
		cat(get(x), []byte{opF64ReinterpretI64}, get(y), []byte{opF64ReinterpretI64, opF64Lt, wasmcode.OpI32Eqz, wasmcode.OpI32Eqz, opI64ExtendU}),
		cat(get(x), []byte{opF64ReinterpretI64}, get(y), []byte{opF64ReinterpretI64, opF64Lt, opI64ExtendU}), 2, 0},
	{"a negated float comparison is left alone: NaN is neither less nor greater or equal",
		cat(get(x), []byte{opF64ReinterpretI64}, get(y), []byte{opF64ReinterpretI64, opF64Ge, wasmcode.OpI32Eqz, opI64ExtendU}),
		nil, 0, 0},
	{"a double zero test before a branch is dropped",
		cat(get(x), []byte{opI32WrapI64, wasmcode.OpI32Eqz, wasmcode.OpI32Eqz}, ifElse),
		cat(get(x), []byte{opI32WrapI64}, ifElse), 2, 0},
	{"a double zero test before br_if is dropped",
		cat([]byte{wasmcode.OpBlock, typeI64, wasmcode.OpI64Const, 7}, get(x), []byte{opI32WrapI64, wasmcode.OpI32Eqz, wasmcode.OpI32Eqz, wasmcode.OpBrIf, 0, 0x1A /* drop */, wasmcode.OpI64Const, 9, wasmcode.OpEnd}),
		cat([]byte{wasmcode.OpBlock, typeI64, wasmcode.OpI64Const, 7}, get(x), []byte{opI32WrapI64, wasmcode.OpBrIf, 0, 0x1A, wasmcode.OpI64Const, 9, wasmcode.OpEnd}), 2, 0},
	{"a double zero test before select is dropped",
		cat(get(x), get(y), get(x), []byte{opI32WrapI64, wasmcode.OpI32Eqz, wasmcode.OpI32Eqz, opSelect}),
		cat(get(x), get(y), get(x), []byte{opI32WrapI64, opSelect}), 2, 0},
	{"a negated i64 zero test is a comparison with 0",
		cat(get(x), []byte{opI64Eqz, wasmcode.OpI32Eqz, opI64ExtendU}),
		cat(get(x), []byte{wasmcode.OpI64Const, 0, opI64Ne, opI64ExtendU}), 0, 1},
	{"a negated i32 zero test is a comparison with 0",
		cat(get(x), []byte{opI32WrapI64, wasmcode.OpI32Eqz, wasmcode.OpI32Eqz, opI64ExtendU}),
		cat(get(x), []byte{opI32WrapI64, wasmcode.OpI32Const, 0, opI32Ne, opI64ExtendU}), 0, 1},
	{"a single zero test is left alone",
		cat(get(x), []byte{opI64Eqz}, ifElse), nil, 0, 0},
	{"a widening that is not tested is left alone",
		cat(get(x), []byte{opI32WrapI64, opI64ExtendU}), nil, 0, 0},
}

func TestRewrite(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, r, err := gobools.Rewrite(moduleOf(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = tc.in
			}
			if got, err := wasmcode.FuncBody(out, 0); err != nil || !bytes.Equal(got, want) || r.Removed != tc.removed || r.Negations != tc.negations {
				t.Errorf("%+v, want %d removed, %d negations (%v)\n got % x\nwant % x", r, tc.removed, tc.negations, err, got, want)
			}
			again, r2, err := gobools.Rewrite(out)
			if err != nil || r2 != (gobools.Report{}) || !bytes.Equal(again, out) {
				t.Errorf("rewriting again: %+v, %v; want nothing to do", r2, err)
			}
		})
	}
}

// TestRewrittenCodeComputesWhatTheOriginalDoes runs every case before and
// after, on values at the edges of each comparison: 0, 1, the 32-bit
// boundary (which a widening or a wrap could confuse), the signs and NaN.
func TestRewrittenCodeComputesWhatTheOriginalDoes(t *testing.T) {
	values := []uint64{0, 1, 2, 1 << 32, 1<<32 + 1, 1<<32 - 1, 1 << 63, math.MaxUint64, 0x7FF8000000000001, math.Float64bits(1.5), math.Float64bits(-2)}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, tc := range cases {
		if tc.want == nil {
			continue
		}
		before, err := rt.Instantiate(ctx, moduleOf(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		rewritten, _, err := gobools.Rewrite(moduleOf(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		after, err := rt.InstantiateWithConfig(ctx, rewritten, wazero.NewModuleConfig().WithName(tc.name))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, a := range values {
			for _, b := range values {
				want, err1 := before.ExportedFunction("f").Call(ctx, a, b)
				got, err2 := after.ExportedFunction("f").Call(ctx, a, b)
				if err1 != nil || err2 != nil || got[0] != want[0] {
					t.Errorf("%s: f(%#x, %#x) = %v (%v) after, %v (%v) before", tc.name, a, b, got, err2, want, err1)
				}
			}
		}
	}
}

func TestRewriteRefusesWhatItCannotRead(t *testing.T) {
	good := moduleOf(cat(get(x), []byte{opI64Eqz, opI64ExtendU}))
	if _, _, err := gobools.Rewrite(good[:len(good)-2]); err == nil {
		t.Error("a truncated module was accepted")
	}
	if _, _, err := gobools.Rewrite(moduleOf([]byte{0xFF, wasmcode.OpLocalGet, x})); err == nil {
		t.Error("an unknown opcode was accepted")
	}
}
